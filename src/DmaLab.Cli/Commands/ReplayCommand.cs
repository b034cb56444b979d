using System.CommandLine;
using DmaLab.Cli.Report;
using DmaLab.Trace;
using Spectre.Console;
using DmaLab.Replay;

namespace DmaLab.Cli.Commands;

/// <summary>dmalab replay TRACE: stream a kernel ftrace capture through the model and compare every dma_addr.</summary>
public static class ReplayCommand
{
    public static Command Create()
    {
        var trace = new Argument<string>("trace") { Description = "ftrace text (trace, trace_pipe or trace-cmd report output), .xz or .gz; - for stdin" };
        var platform = new Option<string?>("--platform", "-p") { Description = "Platform to replay on (built-in, YAML or .dtb); default: inferred from the trace" };
        var policy = new Option<string?>("--policy") { Description = "What-if: re-run the calls with strict, lazy, passthrough or swiotlb-force" };
        var iommu = new Option<string?>("--iommu") { Description = "What-if: put the devices behind this IOMMU family: intel-vtd, amd-vi, arm-smmu-v3, arm-smmu or virtio-iommu" };
        var dmesg = new Option<string?>("--dmesg") { Description = "Kernel log of the traced machine (dmesg, journalctl -k, or a file containing it): its facts win over guesses from the trace" };
        var check = new Option<bool>("--check") { Description = "Exit 1 when the replay has findings" };
        var timeline = new Option<string?>("--timeline") { Description = "Write a Chrome/Perfetto trace-event JSON timeline (open in ui.perfetto.dev)" };
        var json = CommonOptions.Json();
        var seed = CommonOptions.Seed();
        var outDir = new Option<string?>("--out", "-o") { Description = "Also write replay.json and replay.html into this directory" };
        var cmd = new Command("replay", "Replay a kernel DMA/IOMMU trace through the model") { trace, platform, dmesg, policy, iommu, check, timeline, json, seed, outDir };
        cmd.SetAction(pr =>
        {
            string input = pr.GetValue(trace)!;
            var request = new ReplayRequest(input, pr.GetValue(platform), pr.GetValue(policy), pr.GetValue(iommu), pr.GetValue(seed), pr.GetValue(dmesg));
            bool asJson = pr.GetValue(json);
            string? timelinePath = pr.GetValue(timeline);
            if (timelinePath is not null && Path.GetDirectoryName(Path.GetFullPath(timelinePath)) is string tdir) Directory.CreateDirectory(tdir);
            using var timelineStream = timelinePath is null ? null : File.Create(timelinePath);
            bool progress = !asJson && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            ReplayReport report = progress
                ? AnsiConsole.Progress().AutoClear(true).Start(ctx =>
                {
                    var task = ctx.AddTask($"reading {Markup.Escape(Path.GetFileName(input))}", maxValue: 1);
                    return ReplayDriver.Run(request, timelineStream, p =>
                    {
                        if (p.InputLength is long len && len > 0) task.Value = Math.Min(1, (double)p.InputBytes / len);
                        task.Description = $"{p.Events:N0} events";
                    });
                })
                : ReplayDriver.Run(request, timelineStream, null);

            if (pr.GetValue(outDir) is string dir)
            {
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, "replay.json"), ReplayReportJson.Serialize(report));
                File.WriteAllText(Path.Combine(dir, "replay.html"), ReplayHtml.Render(report));
            }
            if (asJson) Console.WriteLine(ReplayReportJson.Serialize(report));
            else Render(report, timelinePath, pr.GetValue(outDir));
            return pr.GetValue(check) && report.Findings.Count > 0 ? ExitCodes.Findings : ExitCodes.Ok;
        });
        return cmd;
    }

    static void Render(ReplayReport r, string? timeline, string? outDir)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(r.Input)}[/]: {r.Lines:N0} event lines, {r.SkippedLines:N0} skipped, {r.UnknownEventLines:N0} unknown-event lines, {r.LostEventCount:N0} lost events");
        var p = r.Platform;
        AnsiConsole.MarkupLine($"inferred: [bold]{Markup.Escape(p.DmaOps)}[/]{(p.Iommu ? $", IOMMU {Markup.Escape(p.IommuKind)} ({Markup.Escape(p.DomainLayout)})" : "")}{(p.Swiotlb ? p.SwiotlbForced ? ", swiotlb forced" : ", swiotlb" : "")}");
        if (r.KernelLog is { } kl)
            AnsiConsole.MarkupLine($"kernel log: [bold]{Markup.Escape(kl.Input)}[/]: {kl.Lines:N0} lines, {kl.KernelLines:N0} with a log prefix, {kl.FactLines:N0} gave facts");
        if (r.Facts.Count > 0)
        {
            var facts = new Table().Title("Platform facts").AddColumns("Fact", "Value", "From", "Where");
            foreach (var fact in r.Facts) facts.AddRow(Markup.Escape(fact.Name), Markup.Escape(fact.Value), Markup.Escape(fact.Source), Markup.Escape(fact.Detail));
            AnsiConsole.Write(facts);
        }
        var ev = new Table().Title("Events").AddColumns("Event", "Count");
        foreach (var (name, count) in r.Events) ev.AddRow(Markup.Escape(name), count.ToString("N0"));
        AnsiConsole.Write(ev);
        var t = new Table().Title("Devices").AddColumns("Device", "dma ops", "Maps", "Unmaps", "Bytes mapped", "Live at end", "Live bytes", "Peak live", "Maps/s");
        foreach (var d in r.Devices)
            t.AddRow(Markup.Escape(d.Name), Markup.Escape(d.DmaOps ?? ""), d.Maps.ToString("N0"), d.Unmaps.ToString("N0"), Units.Bytes(d.BytesMapped),
                d.LiveMappingsAtEnd.ToString("N0"), Units.Bytes((ulong)d.LiveBytesAtEnd), d.PeakLiveMappings.ToString("N0"), d.MapsPerSecond.ToString("N0"));
        if (r.Devices.Count > 0) AnsiConsole.Write(t);
        if (r.IommuLayer is { } layer)
        {
            AnsiConsole.MarkupLine($"IOMMU layer (no dma:* events): {Markup.Escape(layer.Rules)}; {Markup.Escape(layer.Policy)}");
            var lt = new Table().Title("DMA domains (from iommu:map/unmap)").AddColumns("Domain", "Device", "Maps", "Allocs", "Unmaps", "Matched", "Live", "Live IOVA");
            foreach (var d in layer.Domains)
                lt.AddRow(d.Id.ToString(), Markup.Escape(d.Devices.Count > 0 ? string.Join(",", d.Devices) : "?"), d.MapEvents.ToString("N0"), d.Allocations.ToString("N0"),
                    d.Unmaps.ToString("N0"), $"{d.Matched}/{d.Compared}", $"{d.LiveMappingsAtEnd} ({Units.Bytes(d.LiveBytesAtEnd)})",
                    d.LiveIovaLow is null ? "-" : $"{d.LiveIovaLow}-{d.LiveIovaHigh}");
            AnsiConsole.Write(lt);
            AnsiConsole.MarkupLine($"{layer.UnmatchedUnmaps:N0} unmap(s) of IOVAs no domain had mapped, {layer.Invalidations:N0} IOTLB invalidation(s), {layer.LiveMappingsAtEnd:N0} mapping(s) live at the end");
            foreach (var u in layer.Unknowable) AnsiConsole.MarkupLine($"[grey]not in the trace: {Markup.Escape(u)}[/]");
        }
        var f = r.Fidelity;
        string colour = f.Compared > 0 && f.Matched == f.Compared ? "green" : "yellow";
        AnsiConsole.MarkupLine($"fidelity ({Markup.Escape(f.Model)}): [{colour}]{f.Matched:N0} of {f.Compared:N0} dma_addr equal to the kernel's ({f.MatchRate * 100:0.00} %)[/], {f.NotComparable:N0} not comparable");
        ReplayWhatIfView.Render(r);
        foreach (var m in f.FirstMismatches.Take(5))
            AnsiConsole.MarkupLine($"  line {m.Line}: {Markup.Escape(m.Device)} {Markup.Escape(m.Event)} kernel {Markup.Escape(m.Expected)} model {Markup.Escape(m.Got)}");
        if (r.FindingCounts.Count > 0)
        {
            var ft = new Table().Title("Findings").AddColumns("Kind", "Count", "First");
            foreach (var (kind, count) in r.FindingCounts)
            {
                var first = r.Findings.FirstOrDefault(x => x.Kind == kind);
                ft.AddRow(Markup.Escape(kind), count.ToString("N0"), first is null ? "" : Markup.Escape($"line {first.Line}: {first.Device}: {first.Message}"));
            }
            AnsiConsole.Write(ft);
        }
        else AnsiConsole.MarkupLine("[green]no findings[/]");
        foreach (var m in r.Malformed.Take(5)) AnsiConsole.MarkupLine($"[yellow]skipped line {m.Line}:[/] {Markup.Escape(m.Reason)}");
        if (timeline is not null) AnsiConsole.MarkupLine($"timeline: [bold]{Markup.Escape(timeline)}[/] (open in ui.perfetto.dev)");
        if (outDir is not null) AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(Path.Combine(outDir, "replay.html"))}[/] and replay.json");
    }
}
