using System.CommandLine;
using DmaLab.Analysis;
using DmaLab.Workloads;
using Spectre.Console;

namespace DmaLab.Cli.Commands;

/// <summary>dmalab compare --workload W --policy strict,lazy,...: one workload under several policies, side by side.</summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var workload = new Option<string>("--workload", "-w") { Description = $"Workload: {string.Join(", ", WorkloadCatalog.Names)}", Required = true };
        var policies = new Option<string>("--policy") { Description = "Comma-separated policies: strict, lazy, passthrough, swiotlb-force, platform", DefaultValueFactory = _ => "strict,lazy,passthrough,swiotlb-force" };
        var platform = CommonOptions.Platform();
        var json = CommonOptions.Json();
        var seed = CommonOptions.Seed();
        var cmd = new Command("compare", "What-if matrix: run one workload under several IOMMU/swiotlb policies") { workload, policies, platform, json, seed };
        cmd.SetAction(pr =>
        {
            var spec = PlatformResolver.Resolve(pr.GetValue(platform)!);
            var list = pr.GetValue(policies)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            PolicyComparison cmp;
            try { cmp = PolicyComparison.Run(spec, pr.GetValue(workload)!, list, pr.GetValue(seed)); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            if (pr.GetValue(json))
            {
                Console.WriteLine(JsonOut.Serialize(new
                {
                    workload = cmp.Workload, platform = cmp.Platform, seed = cmp.Seed,
                    policies = cmp.Rows.Select(r => r.Policy),
                    metrics = cmp.Metrics.Select(m => new { name = m.Name, unit = m.Unit, values = cmp.Rows.Select(r => r.Value(m.Name)) }),
                    findings = cmp.Rows.ToDictionary(r => r.Policy, r => r.Results.Sum(x => x.Findings.Count)),
                }));
                return ExitCodes.Ok;
            }
            AnsiConsole.MarkupLine($"[bold]{TerminalText.Escape(cmp.Workload)}[/] on {TerminalText.Escape(cmp.Platform)}, seed {cmp.Seed}");
            var t = new Table().AddColumn("Metric");
            foreach (var r in cmp.Rows) t.AddColumn(new TableColumn(TerminalText.Escape(r.Policy)).RightAligned());
            foreach (var (name, unit) in cmp.Metrics)
                t.AddRow([TerminalText.Escape(name), .. cmp.Rows.Select(r => r.Value(name) is double v ? TerminalText.Escape(Units.Number(v, unit)) : "-")]);
            t.AddRow(["findings", .. cmp.Rows.Select(r => r.Results.Sum(x => x.Findings.Count).ToString())]);
            AnsiConsole.Write(t);
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
