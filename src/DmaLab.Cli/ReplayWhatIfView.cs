using DmaLab.Trace;
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
                AnsiConsole.MarkupLine($"model: {TerminalText.Escape(m.Policy)}, IOMMU {TerminalText.Escape(m.Iommu)}; {m.Invalidations:N0} invalidations, IOVA rcache hit rate {m.IovaRcacheHitRate * 100:0.0} %, {Units.Bytes(m.BounceBytes)} bounced, estimated {m.EstimatedNs / 1e3:N1} µs of DMA-API work");
            return;
        }
        var t = new Table().Title($"What-if: {TerminalText.Escape(w.Policy)}{(w.Iommu is null ? "" : " on " + TerminalText.Escape(w.Iommu))} (estimated speedup {ReplayWhatIfRows.Speedup(w.EstimatedSpeedup)})")
            .AddColumns("", "As traced", "What-if");
        foreach (var (name, value) in ReplayWhatIfRows.Rows)
            t.AddRow(TerminalText.Escape(name), TerminalText.Escape(value(w.Original)), TerminalText.Escape(value(w.WhatIf)));
        AnsiConsole.Write(t);
        foreach (var n in w.Notes) AnsiConsole.MarkupLine($"[grey]{TerminalText.Escape(n)}[/]");
    }
}
