using System.Globalization;
using System.Net;
using System.Text;
using DmaLab.Analysis;

namespace DmaLab.Cli.Report;

/// <summary>report.html: one self-contained page (inline CSS and SVG, no scripts, no external resources), all text escaped.</summary>
public static class HtmlReport
{
    public static string Render(RunReport r, IEnumerable<string>? extraSections = null)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>DmaLab report — ").Append(E(r.Platform)).Append("</title>\n<style>")
          .Append("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:2em}")
          .Append("table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:.9em}th{background:#f2f2f2}")
          .Append("td.n{text-align:right;font-variant-numeric:tabular-nums}.finding{color:#a00}.note{color:#555}svg{background:#fafafa;border:1px solid #ddd;margin:.3em 0}")
          .Append("</style></head><body>\n");
        sb.Append("<h1>DmaLab report</h1>\n<p>Platform <b>").Append(E(r.Platform)).Append("</b> (").Append(E(r.PlatformSource)).Append("), seed ").Append(r.Seed)
          .Append(", ").Append(r.Workloads.Count).Append(" workload runs, ").Append(r.FindingCount).Append(" findings.</p>\n");
        foreach (var n in r.Notes) sb.Append("<p class=\"note\">").Append(E(n)).Append("</p>\n");
        if (r.Devices.Count > 0)
        {
            sb.Append("<h2>Devices and their DMA setup</h2>\n<table><tr><th>Device</th><th>dma_map_ops</th><th>Domain</th><th>Group</th><th>Why</th></tr>\n");
            foreach (var d in r.Devices)
                sb.Append("<tr><td>").Append(E(d.Device)).Append("</td><td>").Append(E(d.Ops)).Append("</td><td>").Append(E(d.Domain)).Append("</td><td>")
                  .Append(E(d.Group)).Append("</td><td>").Append(E(d.Reason)).Append("</td></tr>\n");
            sb.Append("</table>\n");
        }
        foreach (var w in r.Workloads)
        {
            sb.Append("<h2>").Append(E(w.Name)).Append(w.Variant.Length > 0 ? " — " + E(w.Variant) : "").Append("</h2>\n<p>").Append(E(w.Description)).Append("</p>\n");
            if (w.Metrics.Count > 0)
            {
                sb.Append("<table><tr><th>Metric</th><th>Value</th><th>Unit</th></tr>\n");
                foreach (var m in w.Metrics)
                    sb.Append("<tr><td>").Append(E(m.Name)).Append("</td><td class=\"n\">").Append(E(Fmt(m.Value))).Append("</td><td>").Append(E(m.Unit)).Append("</td></tr>\n");
                sb.Append("</table>\n");
            }
            foreach (var (name, points) in w.Series) sb.Append(Svg.LinePlot(name, points));
            if (w.Findings.Count > 0)
            {
                sb.Append("<table><tr><th>Finding</th><th>Device</th><th>Address</th><th>Message</th></tr>\n");
                foreach (var f in w.Findings.Take(200))
                    sb.Append("<tr class=\"finding\"><td>").Append(E(f.Kind)).Append("</td><td>").Append(E(f.Device)).Append("</td><td>0x")
                      .Append(f.Address.ToString("x", CultureInfo.InvariantCulture)).Append("</td><td>").Append(E(f.Message)).Append("</td></tr>\n");
                sb.Append("</table>\n");
                if (w.Findings.Count > 200) sb.Append("<p>… ").Append(w.Findings.Count - 200).Append(" more in report.json</p>\n");
            }
            foreach (var n in w.Notes) sb.Append("<p class=\"note\">").Append(E(n)).Append("</p>\n");
        }
        if (extraSections is not null) foreach (var s in extraSections) sb.Append(s);
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    public static string E(string s) => WebUtility.HtmlEncode(s);
    static string Fmt(double v) => Math.Abs(v - Math.Round(v)) < 1e-9 && Math.Abs(v) < 1e15
        ? ((long)Math.Round(v)).ToString(CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);
}
