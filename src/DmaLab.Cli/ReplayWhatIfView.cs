using DmaLab.Trace;
using Spectre.Console;

namespace DmaLab.Cli;

/// <summary>The what-if comparison of a replay: the trace's calls as traced and under the asked configuration.</summary>
public static class ReplayWhatIfView
{
    public static void Render(ReplayReport r)
    {
        var m = r.Model;
        if (r.WhatIf is not { } w)
        {
            if (m is not null)
                AnsiConsole.MarkupLine($"model: {Markup.Escape(m.Policy)}, IOMMU {Markup.Escape(m.Iommu)}; {m.Invalidations:N0} invalidations, IOVA rcache hit rate {m.IovaRcacheHitRate * 100:0.0} %, {Units.Bytes(m.BounceBytes)} bounced, estimated {m.EstimatedNs / 1e3:N1} µs of DMA-API work");
            return;
        }
        var t = new Table().Title($"What-if: {Markup.Escape(w.Policy)}{(w.Iommu is null ? "" : " on " + Markup.Escape(w.Iommu))}")
            .AddColumns("", "As traced", "What-if");
        void Row(string name, Func<ReplayModelStats, string> f) => t.AddRow(name, Markup.Escape(f(w.Original)), Markup.Escape(f(w.WhatIf)));
        Row("policy / IOMMU", s => $"{s.Policy} / {s.Iommu}");
        Row("maps / unmaps", s => $"{s.Maps:N0} / {s.Unmaps:N0}");
        Row("IOTLB misses (estimated)", s => s.IotlbMisses.ToString("N0"));
        Row("invalidations", s => s.Invalidations.ToString("N0"));
        Row("flush-queue flushes", s => s.FlushQueueFlushes.ToString("N0"));
        Row("IOVA allocations / rcache hit rate", s => $"{s.IovaAllocs:N0} / {s.IovaRcacheHitRate * 100:0.0} %");
        Row("bounced bytes", s => Units.Bytes(s.BounceBytes));
        Row("estimated time (virtual)", s => $"{s.EstimatedNs / 1e3:N1} µs");
        AnsiConsole.Write(t);
        foreach (var n in w.Notes) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(n)}[/]");
    }
}
