using System.CommandLine;
using DmaLab.Analysis;
using DmaLab.Cli.Report;
using DmaLab.Workloads;
using Spectre.Console;

namespace DmaLab.Cli.Commands;

/// <summary>dmalab run: boot a platform, run the built-in workloads, print a summary, write report.json and report.html.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var platform = CommonOptions.Platform();
        var workloads = new Option<string[]>("--workload", "-w")
        {
            Description = $"Workloads to run (default: all): {string.Join(", ", WorkloadCatalog.Names)}",
            AllowMultipleArgumentsPerToken = true,
        };
        var outDir = CommonOptions.Out();
        var json = CommonOptions.Json();
        var seed = CommonOptions.Seed();
        var cmd = new Command("run", "Boot a platform and run the built-in workloads (the default job)") { platform, workloads, outDir, json, seed };
        cmd.SetAction(pr =>
        {
            var spec = PlatformResolver.Resolve(pr.GetValue(platform)!);
            string dir = pr.GetValue(outDir)!;
            SafeOutput.CheckPath(Path.Combine(dir, "report.json"));
            SafeOutput.CheckPath(Path.Combine(dir, "report.html"));
            var names = pr.GetValue(workloads) ?? [];
            foreach (var n in names)
                if (!WorkloadCatalog.Names.Contains(n)) throw new UsageException($"unknown workload '{n}': expected one of {string.Join(", ", WorkloadCatalog.Names)}");
            ulong s = pr.GetValue(seed);
            var report = new RunReport { Platform = spec.Name, PlatformSource = spec.Source, Seed = s };
            var machine = Machine.Boot(spec, new MachineOptions { Seed = s });
            report.Devices.AddRange(machine.Setup);
            report.Notes.AddRange(spec.Notes);
            bool asJson = pr.GetValue(json);
            bool live = !asJson && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            if (live)
                AnsiConsole.Status().Start("running workloads", ctx =>
                {
                    foreach (var r in WorkloadCatalog.RunAll(spec, s, names))
                    {
                        report.Workloads.Add(r);
                        ctx.Status($"ran {TerminalText.Escape(r.Name)} {TerminalText.Escape(r.Variant)}");
                    }
                });
            else report.Workloads.AddRange(WorkloadCatalog.RunAll(spec, s, names));

            string jsonText = ReportJson.Render(report);
            SafeOutput.WriteTogether((Path.Combine(dir, "report.json"), jsonText), (Path.Combine(dir, "report.html"), HtmlReport.Render(report)));
            if (asJson) Console.WriteLine(jsonText);
            else Render(report, dir);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The figures that tell policies and workloads apart, shown in the summary (all metrics are in the reports).</summary>
    static readonly HashSet<string> KeyMetrics = new(StringComparer.Ordinal)
    {
        "throughput", "iotlb-misses", "iotlb-invalidations", "stale-window-max", "exposure-outside-peak", "bounce-bytes",
        "switch-time-avg", "frames-with-stale-data", "vmalloc-saved", "pages-migrated", "busy-retries", "high-order-failures",
        "swiotlb-bounced-bytes-to-device", "bounced-mappings", "cma-allocations", "buffers-outside-cma", "user-frame-errors",
    };

    static void Render(RunReport r, string dir)
    {
        AnsiConsole.MarkupLine($"platform [bold]{TerminalText.Escape(r.Platform)}[/] ({TerminalText.Escape(r.PlatformSource)}), seed {r.Seed}");
        var dev = new Table().Title("DMA setup per device (arch_setup_dma_ops)").AddColumns("Device", "dma_map_ops", "Domain", "Why");
        foreach (var d in r.Devices) dev.AddRow(TerminalText.Escape(d.Device), TerminalText.Escape(d.Ops), TerminalText.Escape(d.Domain), TerminalText.Escape(d.Reason));
        AnsiConsole.Write(dev);
        var t = new Table().Title("Workloads").AddColumns("Workload", "Variant", "Key figures", "Findings");
        foreach (var w in r.Workloads)
        {
            var chosen = w.Metrics.Where(m => KeyMetrics.Contains(m.Name)).Take(5).ToList();
            string key = string.Join("\n", (chosen.Count > 0 ? chosen : w.Metrics.Take(4)).Select(m => $"{m.Name}: {Units.Number(m.Value, m.Unit)}"));
            string findings = w.Findings.Count == 0 ? "[green]0[/]" : $"[red]{w.Findings.Count}[/] ({TerminalText.Escape(string.Join(", ", w.Findings.Select(f => f.Kind).Distinct().Take(3)))})";
            t.AddRow(TerminalText.Escape(w.Name), TerminalText.Escape(w.Variant), TerminalText.Escape(key), findings);
        }
        AnsiConsole.Write(t);
        foreach (var n in r.Notes) AnsiConsole.MarkupLine($"[yellow]note:[/] {TerminalText.Escape(n)}");
        AnsiConsole.MarkupLine($"wrote [bold]{TerminalText.Escape(Path.Combine(dir, "report.html"))}[/] and report.json ({r.Workloads.Count} workload runs, {r.FindingCount} findings)");
    }
}
