using System.Globalization;
using System.Net;
using System.Text;

namespace DmaLab.Cli.Report;

/// <summary>
/// A self-contained report page (inline CSS and SVG, no scripts, no external resources): a title, a summary, a table
/// of contents of the sections that follow, then the sections. All text is escaped.
/// </summary>
public sealed class Html
{
    const string Css =
        "body{font-family:'DejaVu Sans',system-ui,sans-serif;margin:1.5em 2em;max-width:1180px;color:#222;line-height:1.35}" +
        "h1{font-size:1.5em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;margin-top:1.6em;font-size:1.25em}h3{font-size:1.05em;margin:1.1em 0 .3em}" +
        "table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #d4d4d4;padding:2px 7px;text-align:left;font-size:.86em;vertical-align:top}" +
        "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.diff{background:#fff2a8;font-weight:600}" +
        "tr.error td:first-child{border-left:4px solid #c62828}tr.warning td:first-child{border-left:4px solid #ef8f00}" +
        "tr.info td:first-child{border-left:4px solid #7a9cc6}tr.expected{color:#666}tr.expected td:first-child{border-left:4px solid #9e9e9e}" +
        ".note{color:#555}.more{color:#555;font-style:italic;margin-top:0}.facts td:first-child{font-weight:600;background:#fafafa}" +
        "nav ol{columns:2;margin:.3em 0}nav li{margin:.1em 0}.summary{background:#f7f9fc;border:1px solid #dde4ef;padding:.2em 1em .8em;margin:.6em 0}" +
        "svg{display:block;margin:.4em 0;max-width:100%;height:auto}";

    readonly string _title;
    readonly StringBuilder _summary = new();
    readonly List<(string Id, string Title, int Level, string Body)> _sections = new();

    public Html(string title) => _title = title;

    /// <summary>Markup of the summary box at the top (before the table of contents).</summary>
    public Html Summary(string markup)
    {
        _summary.Append(markup);
        return this;
    }

    /// <summary>A section (level 2) or subsection (level 3) in the table of contents and the page.</summary>
    public Html Section(string title, string body, int level = 2)
    {
        _sections.Add(($"s{_sections.Count + 1}", title, level, body));
        return this;
    }

    public string Render()
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(_title)).Append("</title>\n<style>")
          .Append(Css).Append("</style></head><body>\n<h1>").Append(E(_title)).Append("</h1>\n");
        sb.Append("<section class=\"summary\" id=\"summary\"><h2>Summary</h2>\n").Append(_summary).Append("</section>\n");
        sb.Append("<nav id=\"contents\"><h2>Contents</h2><ol>\n<li><a href=\"#summary\">Summary</a></li>\n");
        foreach (var s in _sections)
            if (s.Level == 2) sb.Append("<li><a href=\"#").Append(s.Id).Append("\">").Append(E(s.Title)).Append("</a></li>\n");
        sb.Append("</ol></nav>\n");
        foreach (var s in _sections)
            sb.Append(CultureInfo.InvariantCulture, $"<h{s.Level} id=\"{s.Id}\">").Append(E(s.Title)).Append(CultureInfo.InvariantCulture, $"</h{s.Level}>\n").Append(s.Body);
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    public static string E(string s) => WebUtility.HtmlEncode(s);

    /// <summary>A paragraph of escaped text with an optional class.</summary>
    public static string P(string text, string? cls = null) => (cls is null ? "<p>" : $"<p class=\"{cls}\">") + E(text) + "</p>\n";

    /// <summary>Label/value rows as a two-column facts table.</summary>
    public static string Facts(IEnumerable<(string Label, string Value)> rows)
    {
        var sb = new StringBuilder("<table class=\"facts\">");
        foreach (var (l, v) in rows) sb.Append("<tr><td>").Append(E(l)).Append("</td><td>").Append(E(v)).Append("</td></tr>");
        return sb.Append("</table>\n").ToString();
    }

    /// <summary>Bytes for reading: exact below 1 KiB, else to three significant figures in KiB/MiB/GiB/TiB.</summary>
    public static string Bytes(ulong b)
    {
        if (b < 1024) return b.ToString(CultureInfo.InvariantCulture) + " B";
        string[] units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double v = b / 1024.0;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return v.ToString(v >= 100 ? "0" : v >= 10 ? "0.#" : "0.##", CultureInfo.InvariantCulture) + " " + units[u];
    }

    /// <summary>A metric value with its unit (bytes for reading, the rest as the terminal writes them).</summary>
    public static string Metric(double value, string unit) =>
        unit is "bytes" or "B" ? Bytes((ulong)Math.Max(0, value)) : Units.Number(value, unit);

    public static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    public static string N(double v) => Math.Abs(v - Math.Round(v)) < 1e-9 && Math.Abs(v) < 1e15
        ? ((long)Math.Round(v)).ToString("N0", CultureInfo.InvariantCulture) : v.ToString("#,0.###", CultureInfo.InvariantCulture);
}
