using Spectre.Console;
using DmaLab.Replay;

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
                Terminal.Prose($"model: {m.Policy}, IOMMU {m.Iommu}; {m.Invalidations:N0} invalidations, IOVA rcache hit rate {m.IovaRcacheHitRate * 100:0.0}\u00a0%, {Units.Bytes(m.BounceBytes).Replace(' ', '\u00a0')} bounced, estimated {m.EstimatedNs / 1e3:N1}\u00a0µs of DMA-API work");
            return;
        }
        var t = new TextTable { Title = $"What-if: {w.Policy}{(w.Iommu is null ? "" : " on " + w.Iommu)} (estimated speedup {ReplayWhatIfRows.Speedup(w.EstimatedSpeedup)})" }
            .Column("").Column("As traced", ColumnKind.Prose).Column("What-if", ColumnKind.Prose);
        foreach (var (name, value) in ReplayWhatIfRows.Rows)
            t.Row(name, value(w.Original), value(w.WhatIf));
        t.Write();
        foreach (var n in w.Notes) AnsiConsole.MarkupLine($"[grey]{TerminalText.Escape(n)}[/]");
    }
}
