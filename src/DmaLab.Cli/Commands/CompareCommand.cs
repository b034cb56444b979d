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
            string w = pr.GetValue(workload)!;
            if (!WorkloadCatalog.Names.Contains(w))
                throw new UsageException($"--workload {w}: unknown workload; expected one of {string.Join(", ", WorkloadCatalog.Names)}" + Near(w, WorkloadCatalog.Names));
            var list = pr.GetValue(policies)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string[] known = [.. WorkloadPolicy.All, WorkloadPolicy.Platform];
            if (list.Length == 0) throw new UsageException($"--policy: no policy given; expected some of {string.Join(", ", known)}");
            foreach (var p in list)
                if (!WorkloadPolicy.IsKnown(p))
                    throw new UsageException($"--policy {pr.GetValue(policies)}: unknown policy '{p}'; expected some of {string.Join(", ", known)}" + Near(p, known));
            var spec = PlatformResolver.Resolve(pr.GetValue(platform)!);
            var cmp = PolicyComparison.Run(spec, w, list, pr.GetValue(seed));
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
            var t = new TextTable().Column("Metric");
            foreach (var r in cmp.Rows) t.Column(r.Policy, ColumnKind.Number);
            foreach (var (name, unit) in cmp.Metrics)
                t.Row([name, .. cmp.Rows.Select(r => r.Value(name) is double v ? Units.Number(v, unit) : "-")]);
            t.Row(["findings", .. cmp.Rows.Select(r => r.Results.Sum(x => x.Findings.Count).ToString(System.Globalization.CultureInfo.InvariantCulture))]);
            t.Write();
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static string Near(string word, IEnumerable<string> names) => ParseErrors.Nearest(word, names) is string n ? $"; did you mean {n}?" : "";
}
