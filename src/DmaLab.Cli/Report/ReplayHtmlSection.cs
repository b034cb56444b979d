using DmaLab.Replay;

namespace DmaLab.Cli.Report;

/// <summary>One plotted series: a name and (x, y) points.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<ChartPoint> Points);
/// <summary>A point of a <see cref="ChartSeries"/>.</summary>
public readonly record struct ChartPoint(double X, double Y);
/// <summary>A line or bar chart: title, axis labels and its series (bars: X is the bucket index, see
/// <see cref="Categories"/>).</summary>
public sealed record ChartData(string Title, string Kind, string XLabel, string YLabel, IReadOnlyList<ChartSeries> Series,
    IReadOnlyList<string>? Categories = null);
/// <summary>A table: header and rows of cells already formatted for display.</summary>
public sealed record TableData(string Title, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>The replay's part of the HTML report, as data: the CLI's renderer turns it into markup.</summary>
public sealed class ReplaySectionData
{
    public string Title { get; init; } = "";
    /// <summary>Headline facts in display order (label, value).</summary>
    public List<KeyValuePair<string, string>> Summary { get; init; } = new();
    public List<ChartData> Charts { get; init; } = new();
    public List<TableData> Tables { get; init; } = new();
}

/// <summary>
/// Builds the replay section of the HTML report from a <see cref="ReplayReport"/>: live mappings over time per device
/// (line chart), mapping sizes per device (bar chart over power-of-two buckets), per-marker phases and devices
/// (tables), fidelity and the what-if comparison. Pure data; no markup.
/// </summary>
public static class ReplayHtmlSection
{
    public static ReplaySectionData Build(ReplayReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var s = new ReplaySectionData { Title = $"Trace replay: {r.Input}" };
        var f = r.Fidelity;
        s.Summary.Add(new("Event lines", r.Lines.ToString()));
        s.Summary.Add(new("Skipped (malformed) lines", r.SkippedLines.ToString()));
        s.Summary.Add(new("Duration", $"{r.DurationSeconds:F3} s"));
        s.Summary.Add(new("Maps", r.Maps.ToString()));
        s.Summary.Add(new("Live mappings at end", r.LiveMappingsAtEnd.ToString()));
        s.Summary.Add(new("Platform", $"{r.Platform.DmaOps}{(r.Platform.Iommu ? ", IOMMU " + r.Platform.IommuKind : "")}{(r.Platform.Swiotlb ? ", swiotlb" : "")}"));
        if (f.Model.Length > 0)
            s.Summary.Add(new("Fidelity", $"{f.Summary}, {f.NotComparable} not comparable"));
        s.Summary.Add(new("Findings", r.FindingCounts.Count == 0 ? "none" : string.Join(", ", r.FindingCounts.Select(kv => $"{kv.Key} {kv.Value}"))));

        var live = new List<ChartSeries>();
        var sizes = new List<ChartSeries>();
        int maxBucket = 0;
        foreach (var d in r.Devices)
            foreach (var b in d.SizeHistogram)
                if (b.Count > 0) maxBucket = Math.Max(maxBucket, ReplaySizeHistogram.BucketOf(b.UpTo));
        foreach (var d in r.Devices)
        {
            live.Add(new ChartSeries(d.Name, d.LiveSeries
                .Select(p => new ChartPoint((p.TimeNs - r.FirstTimestampNs) / 1e9, p.Mappings)).ToList()));
            var pts = new ChartPoint[maxBucket + 1];
            for (int i = 0; i <= maxBucket; i++) pts[i] = new ChartPoint(i, 0);
            foreach (var b in d.SizeHistogram)
            {
                int i = ReplaySizeHistogram.BucketOf(b.UpTo);
                if (i <= maxBucket) pts[i] = new ChartPoint(i, b.Count);
            }
            sizes.Add(new ChartSeries(d.Name, pts));
        }
        s.Charts.Add(new ChartData("Live streaming mappings over time", "line", "time since first event (s)", "live mappings", live));
        var cats = Enumerable.Range(0, maxBucket + 1).Select(i => "≤ " + FormatBytes(i >= 64 ? ulong.MaxValue : 1UL << i)).ToList();
        s.Charts.Add(new ChartData("Mapping sizes", "bar", "size (up to)", "mappings", sizes, cats));

        s.Tables.Add(new TableData("Phases (tracing_mark_write markers)",
            ["Phase", "Line", "Start (s)", "Length (ms)", "Maps", "Unmaps", "Bytes mapped", "Allocs", "Peak live", "Live at end"],
            r.Phases.Select(p => (IReadOnlyList<string>)[
                p.Name, p.Line.ToString(), ((p.StartNs - r.FirstTimestampNs) / 1e9).ToString("F6"),
                ((p.EndNs - p.StartNs) / 1e6).ToString("F3"), p.Maps.ToString(), p.Unmaps.ToString(), FormatBytes(p.BytesMapped),
                p.Allocs.ToString(), p.PeakLiveMappings.ToString(), p.LiveMappingsAtEnd.ToString()]).ToList()));

        s.Tables.Add(new TableData("Devices",
            ["Device", "DMA ops", "Maps", "Unmaps", "Bytes mapped", "Allocs", "Peak live", "Live at end", "Maps/s"],
            r.Devices.Select(d => (IReadOnlyList<string>)[
                d.Name, d.DmaOps ?? "", d.Maps.ToString(), d.Unmaps.ToString(), FormatBytes(d.BytesMapped), d.Allocs.ToString(),
                d.PeakLiveMappings.ToString(), d.LiveMappingsAtEnd.ToString(), d.MapsPerSecond.ToString("F0")]).ToList()));

        if (f.FirstMismatches.Count > 0)
            s.Tables.Add(new TableData("First fidelity mismatches", ["Line", "Device", "Event", "Kernel", "Model"],
                f.FirstMismatches.Select(m => (IReadOnlyList<string>)[m.Line.ToString(), m.Device, m.Event, m.Expected, m.Got]).ToList()));

        if (r.WhatIf is { } w) s.Tables.Add(WhatIfTable(w));
        else if (r.Model is { } m) s.Tables.Add(CostTable("Model cost (as traced)", [("as traced", m)]));
        return s;
    }

    static TableData WhatIfTable(ReplayWhatIfReport w) =>
        CostTable($"What-if: {w.Policy}{(w.Iommu is { } i && i != "none" ? " on " + i : "")} (estimated speedup {w.EstimatedSpeedup:F2}x)",
            [("original", w.Original), (w.Policy, w.WhatIf)]);

    static TableData CostTable(string title, (string Name, ReplayModelStats S)[] cols)
    {
        var rows = new List<IReadOnlyList<string>>();
        void Row(string label, Func<ReplayModelStats, string> v) => rows.Add([label, .. cols.Select(c => v(c.S))]);
        Row("IOMMU", x => x.Iommu);
        Row("Device paths", x => string.Join(", ", x.DevicePaths.Select(kv => $"{kv.Key} {kv.Value}")));
        // The traced model estimates its IOTLB figures; a what-if measures them on a booted machine ("—": not measured).
        Row("Figures", x => x.Measured ? "measured" : "IOTLB estimated");
        Row("IOTLB lookups", x => x.Measured ? x.IotlbLookups.ToString() : "—");
        Row("IOTLB misses", x => x.Measured ? x.IotlbMisses.ToString() : $"{x.IotlbMisses} (est.)");
        Row("Page walks", x => x.Measured ? x.PageWalks.ToString() : "—");
        Row("IOTLB invalidations", x => x.Invalidations.ToString());
        Row("Invalidation commands", x => x.Measured ? x.InvalidationCommands.ToString() : "—");
        Row("Stale-translation hits", x => x.Measured ? $"{x.StaleHits} ({FormatBytes(x.StaleHitBytes)}, longest {x.StaleHitWindowMaxNs} ns)" : "—");
        Row("Device accesses (faults)", x => x.Measured ? $"{x.DeviceAccesses} ({x.DeviceAccessFaults})" : "—");
        Row("Flush-queue flushes", x => x.FlushQueueFlushes.ToString());
        Row("IOVA allocations", x => x.IovaAllocs.ToString());
        Row("IOVA rcache hit rate", x => x.IovaRcacheHitRate.ToString("P1"));
        Row("Bounce bytes (copied)", x => FormatBytes(x.BounceBytes));
        Row("Bounced mapping bytes", x => x.Measured ? FormatBytes(x.BouncedMappingBytes) : "—");
        Row("Map failures", x => x.MapFailures.ToString());
        Row("Estimated time", x => $"{x.EstimatedNs / 1e6:F3} ms");
        return new TableData(title, ["Metric", .. cols.Select(c => c.Name)], rows);
    }

    static string FormatBytes(ulong b) => b >= 1UL << 30 ? $"{b / (double)(1UL << 30):0.#} GiB"
        : b >= 1UL << 20 ? $"{b / (double)(1UL << 20):0.#} MiB" : b >= 1024 ? $"{b / 1024.0:0.#} KiB" : $"{b} B";
}
