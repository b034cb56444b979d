using System.CommandLine;
using System.Globalization;
using DmaLab.Analysis.Bench;
using Spectre.Console;
using DmaLab.Cli.Report;

namespace DmaLab.Cli.Commands;

/// <summary>dmalab bench: the model's counterpart of the kernel's dma_map_benchmark (kernel/dma/map_benchmark.c).</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var threads = CommonOptions.Int("--threads", "-t", "Threads, each driving its own booted machine", 1, 1, 1024);
        var ops = CommonOptions.Int("--ops", "", "Measured map+unmap pairs (or alloc+free, translations) per thread and scenario", BenchOptions.DefaultOps, 1, int.MaxValue);
        var filter = new Option<string?>("--filter") { Description = $"Scenarios to run (comma-separated substrings or globs): {string.Join(", ", BenchRunner.Names)}" };
        var json = CommonOptions.Json();
        var seed = CommonOptions.Seed();
        var cmd = new Command("bench", "Measure map+unmap throughput of the model (dma-direct, swiotlb, iommu-dma strict/lazy, IOVA, IOTLB)") { threads, ops, filter, json, seed };
        cmd.SetAction(pr =>
        {
            var options = new BenchOptions { Threads = pr.GetValue(threads), Ops = pr.GetValue(ops), Filter = pr.GetValue(filter), Seed = pr.GetValue(seed) };
            if (BenchRunner.Select(options.Filter).Count == 0)
                throw new UsageException($"--filter {options.Filter}: matches no scenario; expected substrings or globs of {string.Join(", ", BenchRunner.Names)}");
            var result = BenchRunner.Run(options);
            if (pr.GetValue(json)) { Console.WriteLine(BenchResultJson.ToJson(result)); return ExitCodes.Ok; }
            AnsiConsole.MarkupLine($"host: {TerminalText.Escape(result.Machine)}; {result.Threads} thread(s), {result.OpsPerThread:N0} ops per thread");
            var t = new TextTable().Column("Scenario").Column("ns/op", ColumnKind.Number).Column("ops/s (all threads)", ColumnKind.Number)
                .Column("bytes allocated/op", ColumnKind.Number).Column("What one op is", ColumnKind.Prose);
            foreach (var e in result.Results)
                t.Row(e.Name, e.NsPerOp.ToString("0.0", CultureInfo.InvariantCulture), e.OpsPerSec.ToString("N0", CultureInfo.InvariantCulture),
                    e.AllocatedBytesPerOp.ToString("0.##", CultureInfo.InvariantCulture), e.Description);
            t.Write();
            AnsiConsole.MarkupLine($"[grey]{TerminalText.Escape(result.Note)}[/]");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
