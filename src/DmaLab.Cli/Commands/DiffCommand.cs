using System.CommandLine;
using DmaLab.Cli.Report;
using Spectre.Console;

namespace DmaLab.Cli.Commands;

/// <summary>dmalab diff A [B] [--policy P|PA,PB]: two replays side by side, two traces or one trace under two
/// policies, with the change of every figure.</summary>
public static class DiffCommand
{
    public static Command Create()
    {
        var a = new Argument<string>("a") { Description = "First trace (A)" };
        var b = new Argument<string?>("b") { Description = "Second trace (B); omit it to compare two policies of A", Arity = ArgumentArity.ZeroOrOne };
        var policy = new Option<string?>("--policy") { Description = "What-if policy for both sides (P), or one per side (PA,PB): strict, lazy, passthrough, swiotlb-force" };
        var platform = new Option<string?>("--platform", "-p") { Description = "Platform to replay both on (default: inferred from each trace)" };
        var json = CommonOptions.Json();
        var seed = CommonOptions.Seed();
        var outDir = new Option<string?>("--out", "-o") { Description = "Also write diff.json and diff.html into this directory" };
        var cmd = new Command("diff", "Compare two replays: per device maps, bytes, live, findings, IOTLB and bounce figures with the change") { a, b, policy, platform, json, seed, outDir };
        cmd.SetAction(pr =>
        {
            string traceA = pr.GetValue(a)!;
            string traceB = pr.GetValue(b) ?? traceA;
            var policies = (pr.GetValue(policy) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (policies.Length > 2) throw new UsageException($"--policy {pr.GetValue(policy)}: one policy, or two (A's,B's)");
            string? pa = policies.Length > 0 ? policies[0] : null, pb = policies.Length > 1 ? policies[1] : pa;
            if (pr.GetValue(b) is null && pa == pb)
                throw new UsageException("diff needs two traces, or one trace and two policies (--policy strict,lazy)");
            var sideA = ReplayDriver.Prepare(new ReplayRequest(traceA, pr.GetValue(platform), pa, null, pr.GetValue(seed)), "A");
            var sideB = ReplayDriver.Prepare(new ReplayRequest(traceB, pr.GetValue(platform), pb, null, pr.GetValue(seed)), "B");
            string? dir = pr.GetValue(outDir);
            if (dir is not null)
            {
                CliPaths.OutputDirectory("--out", dir);
                SafeOutput.CheckPath(Path.Combine(dir, "diff.json"));
                SafeOutput.CheckPath(Path.Combine(dir, "diff.html"));
            }
            if (traceA == "-" && traceB == "-") throw new UsageException("A and B cannot both be stdin");

            var ra = ReplayDriver.Run(sideA, null, null);
            var rb = ReplayDriver.Run(sideB, null, null);
            var diff = ReplayDiff.Build(Label(traceA, pa), ra, Label(traceB, pb), rb);
            if (dir is not null)
            {
                SafeOutput.WriteTogether((Path.Combine(dir, "diff.json"), ReplayDiffOutput.Json(diff)),
                                         (Path.Combine(dir, "diff.html"), ReplayDiffOutput.Html(diff)));
            }
            if (pr.GetValue(json)) { Console.WriteLine(ReplayDiffOutput.Json(diff)); return ExitCodes.Ok; }
            Render(diff, dir);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static string Label(string trace, string? policy) => Path.GetFileName(trace) + (policy is null ? "" : $" --policy {policy}");

    static void Render(ReplayDiff d, string? dir)
    {
        AnsiConsole.MarkupLine($"[bold]A[/]: {TerminalText.Escape(d.LabelA)} ({TerminalText.Escape(ReplayDiff.How(d.A))})");
        AnsiConsole.MarkupLine($"[bold]B[/]: {TerminalText.Escape(d.LabelB)} ({TerminalText.Escape(ReplayDiff.How(d.B))})");
        Table("Totals", d.Totals.Select(f => ("", f)));
        if (d.Machine.Count > 0) Table("Machine (IOTLB, invalidations, IOVA, bounce)", d.Machine.Select(f => ("", f)));
        if (d.Devices.Count > 0) Table("Per device", d.Devices.SelectMany(dev => dev.Figures.Select((f, i) => (i == 0 ? dev.Name : "", f))), device: true);
        if (dir is not null) AnsiConsole.MarkupLine($"wrote [bold]{TerminalText.Escape(Path.Combine(dir, "diff.html"))}[/] and diff.json");
    }

    static void Table(string title, IEnumerable<(string Device, DiffFigure F)> rows, bool device = false)
    {
        var t = new TextTable { Title = title };
        if (device) t.Column("Device");
        t.Column("Figure", ColumnKind.Prose).Column("A", ColumnKind.Number).Column("B", ColumnKind.Number).Column("Change", ColumnKind.Number);
        foreach (var (dev, f) in rows)
        {
            string[] cells = [f.Name, ReplayDiffOutput.Value(f.A, f.Unit), ReplayDiffOutput.Value(f.B, f.Unit), f.ChangeText];
            t.Row(device ? [dev, .. cells] : cells);
        }
        t.Write();
    }
}
