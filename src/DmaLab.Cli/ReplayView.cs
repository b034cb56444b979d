using DmaLab.Replay;
using Spectre.Console;

namespace DmaLab.Cli;

/// <summary>The terminal report of `dmalab replay`: input, inferred platform, events, devices, fidelity, what-if,
/// live at end, findings grouped by kind and device (every instance with --findings all).</summary>
public static class ReplayView
{
    // Of the skipped lines, the records the validator refused (TraceRecordValidator): the kernel could not have made them.
    static string Malformed(ReplayReport r) => r.MalformedEvents > 0 ? $" ({r.MalformedEvents:N0} malformed events)" : "";

    public static void Render(ReplayReport r, bool allFindings, string? timeline, string? outDir, string? csvDir)
    {
        if (r.InputFormat.StartsWith("trace-cmd", StringComparison.Ordinal))
            Terminal.Prose($"{r.Input} ({r.InputFormat}{(r.Compression is "none" or "" ? "" : ", " + r.Compression)}): {r.EventLinesInTrace:N0} events, {r.SkippedLines:N0} skipped{Malformed(r)}, {r.UnknownEventLines:N0} unknown events, {r.LostEventCount:N0} lost events");
        else
            Terminal.Prose($"{r.Input}: {r.EventLinesInTrace:N0} event lines, {r.SkippedLines:N0} skipped{Malformed(r)}, {r.UnknownEventLines:N0} unknown-event lines, {r.LostEventCount:N0} lost events");
        foreach (var note in r.InputNotes) Terminal.Prose($"note: {note}");
        if (r.BinaryOffset >= 0)
            AnsiConsole.MarkupLine($"[yellow]binary data from offset {r.BinaryOffset:N0} (line {r.BinaryLine:N0}) to the end: the text before it was replayed, {r.BinaryBytesDropped:N0} bytes after it were not[/]");
        if (r.Filter is string f)
            AnsiConsole.MarkupLine($"reporting [bold]{TerminalText.Escape(f)}[/]: {r.Lines:N0} of {r.EventLinesInTrace:N0} events (the model replayed them all)");
        var p = r.Platform;
        AnsiConsole.MarkupLine($"inferred: [bold]{TerminalText.Escape(p.DmaOps)}[/]{(p.Iommu ? $", IOMMU {TerminalText.Escape(p.IommuKind)} ({TerminalText.Escape(p.DomainLayout)})" : "")}{(p.Swiotlb ? p.SwiotlbForced ? ", swiotlb forced" : ", swiotlb" : "")}");

        if (r.KernelLog is { } kl)
            Terminal.Prose($"kernel log: {kl.Input}: {kl.Lines:N0} lines, {kl.KernelLines:N0} with a log prefix, {kl.FactLines:N0} gave facts");
        if (r.Facts.Count > 0)
        {
            var facts = new TextTable { Title = "Platform facts" }.Column("Fact").Column("Value", ColumnKind.Prose).Column("From").Column("Where", ColumnKind.Prose);
            foreach (var fact in r.Facts) facts.Row(fact.Name, fact.Value, fact.Source, fact.Detail);
            facts.Write();
        }
        var ev = new TextTable { Title = "Events" }.Column("Event").Column("Count", ColumnKind.Number);
        foreach (var (name, count) in r.Events) ev.Row(name, Units.Count(count));
        ev.Write();

        string mapped = Units.ColumnUnit(r.Devices.Select(d => d.BytesMapped));
        string live = Units.ColumnUnit(r.Devices.Select(d => (ulong)Math.Max(0, d.LiveBytesAtEnd)));
        var t = new TextTable { Title = "Devices" }.Column("Device").Column("dma ops").Column("Maps", ColumnKind.Number).Column("Unmaps", ColumnKind.Number)
            .Column($"Mapped ({mapped})", ColumnKind.Number).Column("Live at end", ColumnKind.Number).Column($"Live ({live})", ColumnKind.Number)
            .Column("Peak live", ColumnKind.Number, optional: true).Column("Maps/s", ColumnKind.Number, optional: true);
        foreach (var d in r.Devices)
            t.Row(d.Name, d.DmaOps ?? "", Units.Count(d.Maps), Units.Count(d.Unmaps), Units.BytesIn(d.BytesMapped, mapped),
                Units.Count(d.LiveMappingsAtEnd), Units.BytesIn((ulong)Math.Max(0, d.LiveBytesAtEnd), live), Units.Count(d.PeakLiveMappings),
                Units.Count((long)Math.Round(d.MapsPerSecond)));
        if (r.Devices.Count > 0) t.Write();
        if (r.IommuLayer is { } layer)
        {
            Terminal.Prose($"IOMMU layer (no dma:* events): {layer.Rules}; {layer.Policy}");
            var lt = new TextTable { Title = "DMA domains (from iommu:map/unmap)" }.Column("Domain", ColumnKind.Number).Column("Device", ColumnKind.Prose)
                .Column("Maps", ColumnKind.Number).Column("Allocs", ColumnKind.Number).Column("Unmaps", ColumnKind.Number).Column("Matched", ColumnKind.Number)
                .Column("Live", ColumnKind.Number).Column("Live IOVA", optional: true);
            foreach (var d in layer.Domains)
                lt.Row(Units.Count(d.Id), d.Devices.Count > 0 ? string.Join(", ", d.Devices) : "?", Units.Count(d.MapEvents), Units.Count(d.Allocations),
                    Units.Count(d.Unmaps), $"{d.Matched}/{d.Compared}", $"{d.LiveMappingsAtEnd} ({Units.Bytes(d.LiveBytesAtEnd).Replace(' ', '\u00a0')})",
                    d.LiveIovaLow is null ? "-" : $"{d.LiveIovaLow}-{d.LiveIovaHigh}");
            lt.Write();
            Terminal.Prose($"{layer.UnmatchedUnmaps:N0} unmap(s) of IOVAs no domain had mapped, {layer.Invalidations:N0} IOTLB invalidation(s), {layer.LiveMappingsAtEnd:N0} mapping(s) live at the end");
            foreach (var u in layer.Unknowable) Terminal.Prose($"not in the trace: {u}");
        }

        var fid = r.Fidelity;
        Terminal.Prose($"fidelity ({fid.Model}): {fid.Summary.Replace(" %)", "\u00a0%)", StringComparison.Ordinal)}, {fid.NotComparable:N0} not comparable");
        ReplayWhatIfView.Render(r);
        if (fid.Compared > 0)
            Terminal.Prose($"  {fid.Determined:N0} determined by the trace's order ({fid.DeterminedMatched:N0} equal), {fid.Inferred:N0} inferred (a chosen order among interrupts or inferred flush instants; {fid.InferredMatched:N0} equal)");
        if (fid.Resynced > 0)
            Terminal.Prose($"  after {fid.Resynced:N0} of the mismatches the model took the kernel's range and went on from the kernel's state (--no-resync: from its own)");
        foreach (var m in fid.FirstMismatchByDevice)
            Terminal.Prose($"  first mismatch of {m.Device}: line {m.Line} {m.Event}, kernel {m.Expected}, model {m.Got}" +
                           (m.Context.Count > 1 ? $" (replayed before it on its CPU: lines {string.Join(", ", m.Context.Take(m.Context.Count - 1))}; dmalab replay --explain {m.Line} tells why)" : ""));

        if (r.LiveAtEnd.Count > 0)
        {
            var la = new TextTable { Title = "Live when the trace ended (informational)" }.Column("Device").Column("Mappings", ColumnKind.Number)
                .Column("Bytes", ColumnKind.Number).Column("Pattern", ColumnKind.Prose).Column("Leaked", ColumnKind.Number).Column("Oldest line", ColumnKind.Number, optional: true);
            foreach (var x in r.LiveAtEnd)
                la.Row(x.Device, Units.Count(x.Mappings), Units.Bytes(x.Bytes), x.Pattern is null ? "-" : $"{x.Pattern} of {Units.Count(x.CommonSizeCount)} × {Units.Count((long)x.CommonSize)} B",
                    Units.Count(x.Leaked), Units.Count(x.FirstLine));
            la.Write();
        }
        if (r.FindingGroups.Count > 0)
        {
            var ft = new TextTable { Title = allFindings ? "Findings (every instance)" : "Findings by kind and device (first of each; --findings all lists every one)" }
                .Column("Kind", ColumnKind.Prose).Column("Device").Column("Count", ColumnKind.Number).Column(allFindings ? "Line" : "First", ColumnKind.Number).Column("What", ColumnKind.Prose);
            foreach (var g in r.FindingGroups)
            {
                var instances = r.Findings.Where(x => x.Kind == g.Kind && x.Device == g.Device);
                foreach (var (x, i) in (allFindings ? instances : instances.Take(1)).Select((x, i) => (x, i)))
                    ft.Row(i == 0 ? g.Kind + (g.Informational ? " (info)" : "") : "", i == 0 ? g.Device : "", i == 0 ? Units.Count(g.Count) : "", Units.Count(x.Line), x.Message);
            }
            ft.Write();
            long failing = r.FailingFindings;
            AnsiConsole.MarkupLine(failing == 0 ? "[green]no leaks or errors[/] (live-at-end is informational)" : $"[red]{failing:N0} finding(s) that fail --check[/]");
        }
        else AnsiConsole.MarkupLine("[green]no findings[/]");
        if (r.CallSites.Count > 0)
        {
            var cs = new Table().Title($"Call sites (top {r.CallSites.Count} of {r.CallSiteCount} kernel stacks)").AddColumns("Call site", "Device", "Maps", "Live at end", "Findings");
            foreach (var c in r.CallSites.Take(10))
                cs.AddRow(TerminalText.Escape(c.Function), TerminalText.Escape(c.Device), c.Maps.ToString("N0"), c.LiveAtEnd.ToString("N0"), c.Findings.ToString("N0"));
            AnsiConsole.Write(cs);
        }
        if (r.SkippedLines > 0)
            foreach (var m in r.Malformed.Take(5)) AnsiConsole.MarkupLine($"[yellow]skipped line {m.Line}:[/] {TerminalText.Escape(m.Reason)}");
        if (timeline is not null) AnsiConsole.MarkupLine($"timeline: [bold]{TerminalText.Escape(timeline)}[/] (open in ui.perfetto.dev)");
        if (outDir is not null) AnsiConsole.MarkupLine($"wrote [bold]{TerminalText.Escape(Path.Combine(outDir, "replay.html"))}[/] and replay.json");
        if (csvDir is not null) AnsiConsole.MarkupLine($"wrote [bold]{TerminalText.Escape(csvDir)}[/]: devices.csv, phases.csv, findings.csv, mappings.csv");
    }
}
