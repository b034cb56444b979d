using System.Globalization;
using System.Text;
using DmaLab.Trace;
using DmaLab.Replay;

namespace DmaLab.Cli.Report;

/// <summary>replay.html: the replay summary with plots (live mappings over time, size histogram, per-marker phases).</summary>
public static class ReplayHtml
{
    public static string Render(ReplayReport r)
    {
        static string E(string s) => HtmlReport.E(s);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>DmaLab replay — ").Append(E(r.Input)).Append("</title>\n<style>")
          .Append("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}h2{border-bottom:1px solid #ccc;margin-top:2em}")
          .Append("table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:.9em}th{background:#f2f2f2}")
          .Append("td.n{text-align:right;font-variant-numeric:tabular-nums}.finding{color:#a00}svg{background:#fafafa;border:1px solid #ddd;margin:.3em 0}</style></head><body>\n");
        sb.Append("<h1>Replay of ").Append(E(r.Input)).Append("</h1>\n<p>")
          .Append(r.Lines).Append(" event lines, ").Append(r.SkippedLines).Append(" skipped, ").Append(r.UnknownEventLines).Append(" of unknown events; ")
          .Append(r.LostEventCount).Append(" events lost. Inferred: ").Append(E(r.Platform.DmaOps)).Append(r.Platform.Iommu ? ", IOMMU " + E(r.Platform.IommuKind) + " (" + E(r.Platform.DomainLayout) + ")" : "")
          .Append(r.Platform.Swiotlb ? (r.Platform.SwiotlbForced ? ", swiotlb forced" : ", swiotlb") : "").Append(".</p>\n");
        var f = r.Fidelity;
        sb.Append("<h2>Fidelity</h2>\n<p>Model <b>").Append(E(f.Model)).Append("</b>: ").Append(E(f.Summary)).Append(", ")
          .Append(f.NotComparable).Append(" not comparable.</p>\n");
        if (f.FirstMismatches.Count > 0)
        {
            sb.Append("<table><tr><th>Line</th><th>Device</th><th>Event</th><th>Kernel</th><th>Model</th></tr>\n");
            foreach (var m in f.FirstMismatches)
                sb.Append(CultureInfo.InvariantCulture, $"<tr><td class=\"n\">{m.Line}</td><td>{E(m.Device)}</td><td>{E(m.Event)}</td><td>{E(m.Expected)}</td><td>{E(m.Got)}</td></tr>\n");
            sb.Append("</table>\n");
        }
        if (r.WhatIf is { } w)
        {
            sb.Append("<h2>What-if: ").Append(E(w.Policy)).Append(w.Iommu is null ? "" : " on " + E(w.Iommu))
              .Append(" (estimated speedup ").Append(ReplayWhatIfRows.Speedup(w.EstimatedSpeedup)).Append(")</h2>\n<table><tr><th></th><th>As traced</th><th>What-if</th></tr>\n");
            foreach (var (name, value) in ReplayWhatIfRows.Rows)
                sb.Append("<tr><td>").Append(E(name)).Append("</td><td class=\"n\">").Append(E(value(w.Original))).Append("</td><td class=\"n\">").Append(E(value(w.WhatIf))).Append("</td></tr>\n");
            sb.Append("</table>\n");
            foreach (var n in w.Notes) sb.Append("<p>").Append(E(n)).Append("</p>\n");
        }
        sb.Append("<h2>Devices</h2>\n<table><tr><th>Device</th><th>dma ops</th><th>Maps</th><th>Unmaps</th><th>Bytes mapped</th><th>Live at end</th><th>Peak live</th><th>Maps/s</th></tr>\n");
        foreach (var d in r.Devices)
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(d.Name)}</td><td>{E(d.DmaOps ?? "")}</td><td class=\"n\">{d.Maps}</td><td class=\"n\">{d.Unmaps}</td><td class=\"n\">{d.BytesMapped}</td><td class=\"n\">{d.LiveMappingsAtEnd}</td><td class=\"n\">{d.PeakLiveMappings}</td><td class=\"n\">{d.MapsPerSecond:0}</td></tr>\n");
        sb.Append("</table>\n");
        foreach (var d in r.Devices)
        {
            if (d.LiveSeries.Count > 0)
                sb.Append(Svg.LinePlot($"{d.Name}: live mappings over trace time (s)", d.LiveSeries.Select(s => (s.TimeNs / 1e9, (double)s.Mappings)).ToList()));
            if (d.SizeHistogram.Count > 0)
                sb.Append(Svg.Bars($"{d.Name}: mapping sizes (bytes, up to)", d.SizeHistogram.Select(b => (SizeLabel(b.UpTo), (double)b.Count)).ToList()));
        }
        if (r.Phases.Count > 0)
        {
            sb.Append("<h2>Phases (tracing_mark_write markers)</h2>\n<table><tr><th>Phase</th><th>Line</th><th>Duration (ms)</th><th>Maps</th><th>Unmaps</th><th>Bytes mapped</th><th>Peak live</th></tr>\n");
            foreach (var p in r.Phases)
                sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(p.Name)}</td><td class=\"n\">{p.Line}</td><td class=\"n\">{(p.EndNs - p.StartNs) / 1e6:0.###}</td><td class=\"n\">{p.Maps}</td><td class=\"n\">{p.Unmaps}</td><td class=\"n\">{p.BytesMapped}</td><td class=\"n\">{p.PeakLiveMappings}</td></tr>\n");
            sb.Append("</table>\n");
            sb.Append(Svg.Bars("maps per phase", r.Phases.Select(p => (p.Name, (double)p.Maps)).ToList()));
        }
        if (r.Findings.Count > 0)
        {
            sb.Append("<h2>Findings</h2>\n<table><tr><th>Kind</th><th>Line</th><th>Device</th><th>Message</th></tr>\n");
            foreach (var x in r.Findings.Take(500))
                sb.Append(CultureInfo.InvariantCulture, $"<tr class=\"finding\"><td>{E(x.Kind)}</td><td class=\"n\">{x.Line}</td><td>{E(x.Device)}</td><td>{E(x.Message)}</td></tr>\n");
            sb.Append("</table>\n");
        }
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    static string SizeLabel(ulong b) => b >= 1UL << 20 ? $"{b >> 20}M" : b >= 1024 ? $"{b >> 10}K" : b.ToString(CultureInfo.InvariantCulture);
}
