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
        var csv = new Option<string?>("--csv") { Description = "Also write devices.csv, metrics.csv, findings.csv and series.csv into this directory" };
        var json = CommonOptions.Json();
        var seed = CommonOptions.Seed();
        var cmd = new Command("run", "Boot a platform and run the built-in workloads (the default job)") { platform, workloads, outDir, csv, json, seed };
        cmd.SetAction(pr =>
        {
            var names = pr.GetValue(workloads) ?? [];
            foreach (var n in names)
                if (!WorkloadCatalog.Names.Contains(n))
                    throw new UsageException($"--workload {n}: unknown workload; expected one of {string.Join(", ", WorkloadCatalog.Names)}" +
                        (ParseErrors.Nearest(n, WorkloadCatalog.Names) is string near ? $"; did you mean {near}?" : ""));
            string dir = pr.GetValue(outDir)!;
            string? csvDir = pr.GetValue(csv);
            CliPaths.OutputDirectory("--out", dir);
            if (csvDir is not null) CliPaths.OutputDirectory("--csv", csvDir);
            SafeOutput.CheckPath(Path.Combine(dir, "report.json"));
            SafeOutput.CheckPath(Path.Combine(dir, "report.html"));
            var spec = PlatformResolver.Resolve(pr.GetValue(platform)!);

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
            if (csvDir is not null) RunCsv.Write(report, csvDir);
            if (asJson) Console.WriteLine(jsonText);
            else Render(report, dir, csvDir);
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
        "data-errors",
    };

    static void Render(RunReport r, string dir, string? csvDir)
    {
        AnsiConsole.MarkupLine($"platform [bold]{TerminalText.Escape(r.Platform)}[/] ({TerminalText.Escape(r.PlatformSource)}), seed {r.Seed}");
        var dev = new TextTable { Title = "DMA setup per device (arch_setup_dma_ops)" }.Column("Device").Column("dma_map_ops").Column("Domain").Column("Why", ColumnKind.Prose);
        foreach (var d in r.Devices) dev.Row(d.Device, d.Ops, d.Domain, d.Reason);
        dev.Write();
        var t = new TextTable { Title = "Workloads" }.Column("Workload (variant)", ColumnKind.Prose).Column("Key figures", ColumnKind.Prose).Column("Findings", ColumnKind.Prose);
        foreach (var w in r.Workloads)
        {
            // Key figures shown with a nonzero value first for error-like metrics, so a data error is never hidden.
            var chosen = w.Metrics.Where(m => KeyMetrics.Contains(m.Name) && (m.Name != "data-errors" || m.Value != 0))
                .OrderBy(m => m.Name == "data-errors" ? 0 : 1).Take(5).ToList();
            // "name: value unit": may break after the colon, never inside the figure
            string key = string.Join("\n", (chosen.Count > 0 ? chosen : w.Metrics.Take(4)).Select(m => $"{m.Name}: {Units.Number(m.Value, m.Unit).Replace(' ', '\u00a0')}"));
            string findings = w.Findings.Count == 0 ? "0" : string.Join(", ", w.Findings.GroupBy(f => f.Kind).Select(g => $"{g.Key} {g.Count()}"));
            t.Row(w.Variant.Length == 0 ? w.Name : $"{w.Name} ({w.Variant})", key, findings);
        }
        t.Write();
        foreach (var n in r.Notes) AnsiConsole.MarkupLine($"[yellow]note:[/] {TerminalText.Escape(n)}");
        AnsiConsole.MarkupLine($"wrote [bold]{TerminalText.Escape(Path.Combine(dir, "report.html"))}[/] and report.json ({r.Workloads.Count} workload runs, {r.FindingCount} findings)");
        if (csvDir is not null) AnsiConsole.MarkupLine($"wrote [bold]{TerminalText.Escape(csvDir)}[/]: devices.csv, metrics.csv, findings.csv, series.csv");
    }
}
