using System.Globalization;
using System.Text;
using DmaLab.Analysis;
using DmaLab.Replay;

namespace DmaLab.Cli.Report;

/// <summary>
/// replay.html of `dmalab replay --out DIR`: a summary (input, inferred platform, fidelity, per-device ops, findings by
/// kind and severity, the what-if next to the traced run with the differences highlighted), a table of contents, then
/// charts (live mappings and bytes on one shared time axis, mapping sizes over power-of-two bins, maps per phase as
/// ranked bars) and tables that stay small on huge traces (top rows with "showing N of M").
/// </summary>
public static class ReplayHtml
{
    const int PhaseBars = 20, PhaseRows = 50, ProcessRows = 50, FindingRows = 100;

    public static string Render(ReplayReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var page = new Html($"DmaLab replay — {Path.GetFileName(r.Input)}");
        var f = r.Fidelity;
        var p = r.Platform;
        string platform = p.DmaOps + (p.Iommu ? $", IOMMU {p.IommuKind} ({p.DomainLayout})" : "")
            + (p.Swiotlb ? p.SwiotlbForced ? ", swiotlb forced" : ", swiotlb" : "");
        var sum = new StringBuilder(Html.Facts([
            ("Input", r.Input + (r.Compression.Length > 0 ? $" ({r.Compression})" : "")),
            ("Events", $"{Html.N(r.Lines)} event lines over {r.DurationSeconds.ToString("0.000", CultureInfo.InvariantCulture)} s; {Html.N(r.SkippedLines)} skipped, {Html.N(r.UnknownEventLines)} of unknown events, {Html.N(r.LostEventCount)} lost"),
            ("Platform (inferred)", platform),
            ("Fidelity", f.Model.Length == 0 ? "not compared"
                : $"{f.Summary}, {Html.N(f.NotComparable)} not comparable (model {f.Model})"),
            ("Streaming mappings live at end", $"{Html.N(r.LiveMappingsAtEnd)} ({Html.Bytes((ulong)Math.Max(0, r.LiveBytesAtEnd))}); {Html.N(r.LiveAllocsAtEnd)} coherent allocations"),
            ("Findings", Html.N(r.FindingCounts.Values.Sum())),
            ("Call sites (kernel stacks)", r.CallSiteCount == 0 ? "none traced (enable options/stacktrace to see them)"
                : $"{Html.N(r.CallSiteCount)}; most live at end: {r.CallSites[0].Function} ({Html.N(r.CallSites[0].LiveAtEnd)} mappings)"),
        ]));
        var dev = new HtmlTable("Device", "dma ops", "Maps", "Unmaps", "Bytes mapped", "Peak live", "Live at end", "Maps/s").Numeric(2, 3, 4, 5, 6, 7);
        foreach (var d in r.Devices)
            dev.Add(d.Name, d.DmaOps ?? "", Html.N(d.Maps), Html.N(d.Unmaps), Html.Bytes(d.BytesMapped), Html.N(d.PeakLiveMappings),
                Html.N(d.LiveMappingsAtEnd), Html.N(d.MapsPerSecond));
        sum.Append("<h3>DMA ops per device</h3>\n").Append(dev.Render());
        sum.Append("<h3>Findings by kind</h3>\n").Append(FindingSummary.Render(r.FindingCounts.Select(kv =>
            new FindingSummary.KindCount(kv.Key, kv.Value, r.Findings.Where(x => x.Kind == kv.Key).Select(x => x.Device).Distinct().ToList()))));
        if (r.WhatIf is { } w)
        {
            sum.Append("<h3>As traced and what-if side by side</h3>\n")
               .Append(Html.P($"What-if: {w.Policy}{(w.Iommu is null ? "" : " on " + w.Iommu)}, estimated speedup {ReplayWhatIfRows.Speedup(w.EstimatedSpeedup)}; highlighted: differs from the traced run.", "note"));
            var t = new HtmlTable("", "As traced", "What-if").Numeric(1, 2);
            foreach (var (name, value) in ReplayWhatIfRows.Rows)
            {
                string a = value(w.Original), b = value(w.WhatIf);
                t.Add(name, a, new HtmlCell(b, a == b ? null : "diff"));
            }
            sum.Append(t.Render());
            foreach (var n in w.Notes) sum.Append(Html.P(n, "note"));
        }
        page.Summary(sum.ToString());

        page.Section("Live mappings over time", LiveCharts(r));
        if (r.Devices.Any(d => d.SizeHistogram.Count > 0)) page.Section("Mapping sizes", SizeChart(r));
        if (r.Phases.Count > 0) page.Section("Phases (tracing_mark_write markers)", Phases(r));
        if (r.CallSites.Count > 0) page.Section("Call sites (kernel stacks)", CallSites(r));
        if (r.Processes.Count > 0) page.Section("Processes", Processes(r));
        if (r.Findings.Count > 0) page.Section("Findings", Findings(r));
        if (f.FirstMismatches.Count > 0)
        {
            var t = new HtmlTable("Line", "Device", "Event", "Kernel", "Model").Numeric(0);
            foreach (var m in f.FirstMismatches) t.Add(Html.N(m.Line), m.Device, m.Event, m.Expected, m.Got);
            t.Skip(f.Mismatched - f.FirstMismatches.Count);
            page.Section("Fidelity mismatches", t.Render());
        }
        if (r.Model is { } model && r.WhatIf is null) page.Section("Model cost (as traced)", Cost(model));
        page.Section("Events", Events(r));
        return page.Render();
    }

    /// <summary>Live mappings and live bytes per device, step lines on one time axis (seconds since the first event).</summary>
    static string LiveCharts(ReplayReport r)
    {
        double end = (r.LastTimestampNs - r.FirstTimestampNs) / 1e9;
        var devs = r.Devices.Where(d => d.LiveSeries.Count > 0).OrderByDescending(d => d.PeakLiveMappings).ToList();
        if (devs.Count == 0) return Html.P("No streaming mappings.");
        const int MaxLines = 8;
        var shown = devs.Take(MaxLines).OrderBy(d => r.Devices.IndexOf(d)).ToList(); // report order: one colour per device on every chart
        StepSeries Series(ReplayOwnerReport d, Func<LiveSample, double> v, Func<LiveSample, double> lo, Func<LiveSample, double> hi) => new(d.Name,
            d.LiveSeries.Select(s => (s.TimeNs - r.FirstTimestampNs) / 1e9).ToArray(), d.LiveSeries.Select(v).ToArray(),
            d.LiveSeries.Select(lo).ToArray(), d.LiveSeries.Select(hi).ToArray());
        var sb = new StringBuilder();
        sb.Append(Charts.StepLines("Live streaming mappings per device", "time since the first event (s)", "live mappings (count)",
            shown.Select(d => Series(d, s => s.Mappings, s => s.MinMappings, s => s.MaxMappings)).ToList(), 0, end));
        sb.Append(Charts.StepLines("Live streaming bytes per device", "time since the first event (s)", "live mapped bytes (MiB)",
            shown.Select(d => Series(d, s => s.Bytes / 1048576.0, s => s.MinBytes / 1048576.0, s => s.MaxBytes / 1048576.0)).ToList(), 0, end));
        sb.Append(Html.P("Vertical strokes are the lowest and highest values between two samples, so short peaks stay visible.", "note"));
        if (devs.Count > MaxLines) sb.Append(Html.P($"showing the {MaxLines} devices with the highest peaks of {devs.Count}", "more"));
        return sb.ToString();
    }

    static string SizeChart(ReplayReport r)
    {
        var devs = r.Devices.Where(d => d.SizeHistogram.Count > 0).OrderByDescending(d => d.Maps).Take(8).OrderBy(d => r.Devices.IndexOf(d)).ToList();
        return Charts.SizeHistogram("Mapping sizes per device", "mapping size (bytes, power-of-two bins: up to)",
            devs.Select(d => (d.Name, (IReadOnlyList<(int, long)>)d.SizeHistogram.Select(b => (ReplaySizeHistogram.BucketOf(b.UpTo), b.Count)).ToList())).ToList());
    }

    static string Phases(ReplayReport r)
    {
        var ranked = r.Phases.OrderByDescending(p => p.Maps).ThenBy(p => p.Line).ToList();
        var bars = ranked.Take(PhaseBars).Select(p => ($"{Shorten(p.Name, 30)} · line {p.Line}", (double)p.Maps)).ToList();
        if (ranked.Count > PhaseBars)
            bars.Add(($"the other {Html.N(ranked.Count - PhaseBars)} phases", ranked.Skip(PhaseBars).Sum(p => (double)p.Maps)));
        var sb = new StringBuilder(Charts.HorizontalBars($"Maps per phase: the top {Math.Min(PhaseBars, ranked.Count)} of {Html.N(ranked.Count)}",
            "maps (count)", "phase (marker text)", bars));
        var t = new HtmlTable("Phase", "Line", "Start (s)", "Length (ms)", "Maps", "Unmaps", "Bytes mapped", "Allocs", "Peak live", "Live at end")
        { Limit = PhaseRows, Order = "the top by maps:", RestIn = "replay.json" }.Numeric(1, 2, 3, 4, 5, 6, 7, 8, 9);
        foreach (var p in ranked)
        {
            if (t.Shown >= PhaseRows) { t.Skip(ranked.Count - t.Shown); break; }
            t.Add(p.Name, Html.N(p.Line), ((p.StartNs - r.FirstTimestampNs) / 1e9).ToString("0.000000", CultureInfo.InvariantCulture),
                ((p.EndNs - p.StartNs) / 1e6).ToString("#,0.###", CultureInfo.InvariantCulture), Html.N(p.Maps), Html.N(p.Unmaps),
                Html.Bytes(p.BytesMapped), Html.N(p.Allocs), Html.N(p.PeakLiveMappings), Html.N(p.LiveMappingsAtEnd));
        }
        t.Skip(r.DroppedPhases);
        return sb.Append(t.Render()).ToString();
    }

    static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    static string CallSites(ReplayReport r)
    {
        var t = new HtmlTable("Call site", "Device", "Maps", "Live at end", "Live bytes", "Findings", "Stack (innermost first)")
        { Limit = r.CallSites.Count, Order = "the top by live mappings at the end:", RestIn = "replay.json (top ones)" }.Numeric(2, 3, 4, 5);
        foreach (var c in r.CallSites)
            t.AddRow(c.LiveAtEnd > 0 ? "warning" : null, c.Function, c.Device, Html.N(c.Maps), Html.N(c.LiveAtEnd),
                Html.Bytes((ulong)Math.Max(0, c.LiveBytesAtEnd)), Html.N(c.Findings), string.Join(" ← ", c.Stack));
        t.Skip(r.CallSiteCount - r.CallSites.Count);
        var sb = new StringBuilder(Html.P("Each distinct kernel stack that made mappings (ftrace options/stacktrace); the call site is its first frame outside the DMA API.", "note"));
        sb.Append(t.Render());
        if (r.OrphanStacks > 0) sb.Append(Html.P($"{Html.N(r.OrphanStacks)} stacks had no event before them to belong to (counted, not charged).", "note"));
        return sb.ToString();
    }

    static string Processes(ReplayReport r)
    {
        var t = new HtmlTable("Process", "PID", "Maps", "Unmaps", "Bytes mapped", "Allocs", "Peak live", "Live at end")
        { Limit = ProcessRows, Order = "the top by maps:", RestIn = "replay.json" }.Numeric(1, 2, 3, 4, 5, 6, 7);
        foreach (var p in r.Processes.OrderByDescending(p => p.Maps).ThenBy(p => p.Name, StringComparer.Ordinal))
            t.Add(p.Name, p.Pid?.ToString(CultureInfo.InvariantCulture) ?? "", Html.N(p.Maps), Html.N(p.Unmaps), Html.Bytes(p.BytesMapped),
                Html.N(p.Allocs), Html.N(p.PeakLiveMappings), Html.N(p.LiveMappingsAtEnd));
        return t.Render();
    }

    static string Findings(ReplayReport r)
    {
        var t = new HtmlTable("Kind", "Severity", "Line", "Device", "Address", "Message") { Limit = FindingRows, RestIn = "replay.json (counts by kind above)" }.Numeric(2);
        foreach (var x in r.Findings)
        {
            string sev = FindingSeverities.Name(FindingSeverities.Of(x.Kind));
            t.AddRow(sev, x.Kind, sev, Html.N(x.Line), x.Device, FindingSummary.Address(x.Address), x.Message);
        }
        t.Skip(r.FindingCounts.Values.Sum() - r.Findings.Count);
        return t.Render();
    }

    static string Cost(ReplayModelStats m)
    {
        var t = new HtmlTable("", "As traced").Numeric(1);
        foreach (var (name, value) in ReplayWhatIfRows.Rows) t.Add(name, value(m));
        return t.Render();
    }

    static string Events(ReplayReport r)
    {
        var t = new HtmlTable("Event", "Lines").Numeric(1);
        foreach (var (name, count) in r.Events.OrderByDescending(kv => kv.Value)) t.Add(name, Html.N(count));
        var sb = new StringBuilder(t.Render());
        if (r.Malformed.Count > 0)
        {
            var m = new HtmlTable("Line", "Why skipped", "Text") { Limit = 20 }.Numeric(0);
            foreach (var x in r.Malformed) m.Add(Html.N(x.Line), x.Reason, x.Text);
            m.Skip(r.SkippedLines - r.Malformed.Count);
            sb.Append("<h3>Skipped lines</h3>\n").Append(m.Render());
        }
        return sb.ToString();
    }
}
