using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DmaLab.Cli.Report;

/// <summary>`dmalab diff` as JSON (schema docs/schema/diff.schema.json) and as a self-contained HTML page.</summary>
public static class ReplayDiffOutput
{
    public static string Json(ReplayDiff d)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", JsonSchemaVersion.Current);
            w.WriteString("command", "diff");
            Side(w, "a", d.LabelA, d.A);
            Side(w, "b", d.LabelB, d.B);
            Figures(w, "totals", d.Totals);
            w.WriteStartArray("devices");
            foreach (var dev in d.Devices)
            {
                w.WriteStartObject();
                w.WriteString("name", dev.Name);
                Figures(w, "figures", dev.Figures);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Figures(w, "machine", d.Machine);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    static void Side(Utf8JsonWriter w, string name, string label, DmaLab.Replay.ReplayReport r)
    {
        w.WriteStartObject(name);
        w.WriteString("label", label);
        w.WriteString("input", r.Input);
        w.WriteString("model", ReplayDiff.How(r));
        w.WriteString("iommuKind", r.Platform.IommuKind);
        w.WriteEndObject();
    }

    static void Figures(Utf8JsonWriter w, string name, IEnumerable<DiffFigure> figures)
    {
        w.WriteStartArray(name);
        foreach (var f in figures)
        {
            w.WriteStartObject();
            w.WriteString("name", f.Name);
            w.WriteString("unit", f.Unit);
            Number(w, "a", f.A);
            Number(w, "b", f.B);
            Number(w, "change", f.Change);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    static void Number(Utf8JsonWriter w, string name, double? v)
    {
        if (v is double x) w.WriteNumber(name, x); else w.WriteNull(name);
    }

    public static string Html(ReplayDiff d)
    {
        static string E(string s) => HtmlReport.E(s);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>DmaLab diff — ").Append(E(d.LabelA)).Append(" vs ").Append(E(d.LabelB)).Append("</title>\n<style>")
          .Append("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}h2{border-bottom:1px solid #ccc;margin-top:2em}")
          .Append("table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:.9em}th{background:#f2f2f2}")
          .Append("td.n{text-align:right;font-variant-numeric:tabular-nums}td.changed{font-weight:600}</style></head><body>\n");
        sb.Append("<h1>DmaLab diff</h1>\n<p><b>A</b>: ").Append(E(d.LabelA)).Append(" (").Append(E(ReplayDiff.How(d.A))).Append(")<br><b>B</b>: ")
          .Append(E(d.LabelB)).Append(" (").Append(E(ReplayDiff.How(d.B))).Append(")</p>\n");
        Table(sb, "Totals", d.Totals);
        if (d.Machine.Count > 0) Table(sb, "Machine (IOTLB, invalidations, IOVA, bounce)", d.Machine);
        foreach (var dev in d.Devices) Table(sb, "Device " + dev.Name, dev.Figures);
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    static void Table(StringBuilder sb, string title, IEnumerable<DiffFigure> figures)
    {
        sb.Append("<h2>").Append(HtmlReport.E(title)).Append("</h2>\n<table><tr><th>Figure</th><th>A</th><th>B</th><th>Change</th></tr>\n");
        foreach (var f in figures)
        {
            // bold when changed, no colour: whether more is better depends on the figure
            string cls = f.Change is double c && c != 0 || (f.A is null) != (f.B is null) ? "n changed" : "n";
            sb.Append("<tr><td>").Append(HtmlReport.E(f.Name)).Append("</td><td class=\"n\">").Append(HtmlReport.E(Value(f.A, f.Unit)))
              .Append("</td><td class=\"n\">").Append(HtmlReport.E(Value(f.B, f.Unit))).Append("</td><td class=\"").Append(cls).Append("\">")
              .Append(HtmlReport.E(f.ChangeText)).Append("</td></tr>\n");
        }
        sb.Append("</table>\n");
    }

    /// <summary>A figure for display: IEC sizes for bytes, grouped digits otherwise, "-" when absent.</summary>
    public static string Value(double? v, string unit) => v switch
    {
        null => "-",
        double x when unit == "bytes" => Units.Bytes((ulong)Math.Max(0, x)),
        double x when unit == "ns" => (x / 1e3).ToString("N1", CultureInfo.InvariantCulture) + " µs",
        double x => x.ToString("N0", CultureInfo.InvariantCulture),
    };
}
