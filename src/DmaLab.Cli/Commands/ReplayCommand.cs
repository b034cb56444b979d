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
        var check = new Option<bool>("--check") { Description = "Exit 1 when the replay has leaks or errors (mappings merely live at the end do not count)" };
        var timeline = new Option<string?>("--timeline") { Description = "Write a timeline for ui.perfetto.dev: F.pftrace (Perfetto protobuf, with counter tracks) or F.json (trace-event JSON)" };
        var findings = new Option<string>("--findings") { Description = "first: the first of each kind per device (default); all: every instance, in the terminal and the JSON", DefaultValueFactory = _ => "first" };
        CommonOptions.OneOf(findings, "first", "all");
        var json = CommonOptions.Json();
        var seed = CommonOptions.Seed();
        var outDir = new Option<string?>("--out", "-o") { Description = "Also write replay.json and replay.html into this directory" };
        var csv = new Option<string?>("--csv") { Description = "Also write devices.csv, phases.csv, findings.csv and mappings.csv (live mappings over time) into this directory" };
        var explain = new Option<long?>("--explain") { Description = "Say what the replay decided for this trace line and why (its place among interrupts, the allocator's answer, the flush queue), with the lines around it" };
        var noResync = new Option<bool>("--no-resync")
        {
            Description = "Where the model's address differs from the kernel's, never take the kernel's range to go on from: every later address rests on the model's own state (a stricter fidelity figure)",
        };
        var filter = ReplayFilterOptions.Create();
        var cmd = new Command("replay", "Replay a kernel DMA/IOMMU trace through the model") { trace, platform, dmesg, policy, iommu, check, findings, timeline, json, seed, outDir, csv, explain, noResync };
        filter.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            string input = pr.GetValue(trace)!;
            bool all = pr.GetValue(findings) == "all";
            var request = new ReplayRequest(input, pr.GetValue(platform), pr.GetValue(policy), pr.GetValue(iommu), pr.GetValue(seed), pr.GetValue(dmesg))
            {
                AllFindings = all,
                Filter = filter.Read(pr),
                NoResync = pr.GetValue(noResync),
                ExplainLine = pr.GetValue(explain) is long ex ? ex > 0 ? ex : throw new UsageException($"--explain {ex}: expected a trace line number (1 or more)") : 0,
            };
            string? timelinePath = pr.GetValue(timeline), dir = pr.GetValue(outDir), csvDir = pr.GetValue(csv);
            var prepared = ReplayDriver.Prepare(request);
            if (timelinePath is not null) CliPaths.OutputFile("--timeline", timelinePath);
            bool protobufTimeline = timelinePath is null || ReplayDriver.TimelineIsProtobuf(timelinePath);
            if (dir is not null) CliPaths.OutputDirectory("--out", dir);
            if (csvDir is not null) CliPaths.OutputDirectory("--csv", csvDir);

            bool asJson = pr.GetValue(json);
            // Outputs are checked before the work and replaced only when it succeeded (SafeOutput).
            if (dir is not null) { SafeOutput.CheckPath(Path.Combine(dir, "replay.json")); SafeOutput.CheckPath(Path.Combine(dir, "replay.html")); }
            using var timelineOut = timelinePath is null ? null : SafeOutput.Create(timelinePath);
            var timelineStream = timelineOut?.Stream;
            bool progress = !asJson && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            ReplayReport report = progress
                ? AnsiConsole.Progress().AutoClear(true).Start(ctx =>
                {
                    var task = ctx.AddTask($"reading {TerminalText.Escape(Path.GetFileName(input))}", maxValue: 1);
                    return ReplayDriver.Run(prepared, timelineStream, protobufTimeline: protobufTimeline, progress: p =>
                    {
                        if (p.InputLength is long len && len > 0) task.Value = Math.Min(1, (double)p.InputBytes / len);
                        task.Description = $"{p.Events:N0} events";
                    });
                })
                : ReplayDriver.Run(prepared, timelineStream, null, protobufTimeline);

            timelineOut?.Commit();
            if (dir is not null)
                SafeOutput.WriteTogether((Path.Combine(dir, "replay.json"), ReplayReportJson.Serialize(report)),
                                         (Path.Combine(dir, "replay.html"), ReplayHtml.Render(report)));
            if (csvDir is not null) ReplayCsv.Write(report, csvDir);
            if (asJson) Console.WriteLine(ReplayReportJson.Serialize(report));
            else
            {
                ReplayView.Render(report, all, timelinePath, dir, csvDir);
                if (request.ExplainLine > 0) ReplayExplainView.Render(report, input, request.ExplainLine);
            }
            return pr.GetValue(check) && report.FailingFindings > 0 ? ExitCodes.Findings : ExitCodes.Ok;
        });
        return cmd;
    }
}
