using System.CommandLine;
using DmaLab.Analysis.Bench;
using Spectre.Console;
using DmaLab.Cli.Report;

namespace DmaLab.Cli.Commands;

/// <summary>dmalab bench: the model's counterpart of the kernel's dma_map_benchmark (kernel/dma/map_benchmark.c).</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var threads = new Option<int>("--threads", "-t") { Description = "Threads, each driving its own booted machine", DefaultValueFactory = _ => 1 };
        var ops = new Option<int>("--ops") { Description = "Measured map+unmap pairs (or alloc+free, translations) per thread and scenario", DefaultValueFactory = _ => BenchOptions.DefaultOps };
        var filter = new Option<string?>("--filter") { Description = $"Scenarios to run (comma-separated substrings or globs): {string.Join(", ", BenchRunner.Names)}" };
        var json = CommonOptions.Json();
        var seed = CommonOptions.Seed();
        var cmd = new Command("bench", "Measure map+unmap throughput of the model (dma-direct, swiotlb, iommu-dma strict/lazy, IOVA, IOTLB)") { threads, ops, filter, json, seed };
        cmd.SetAction(pr =>
        {
            var options = new BenchOptions { Threads = pr.GetValue(threads), Ops = pr.GetValue(ops), Filter = pr.GetValue(filter), Seed = pr.GetValue(seed) };
            if (options.Threads is < 1 or > 1024) throw new UsageException($"--threads {options.Threads}: expected 1..1024");
            if (options.Ops < 1) throw new UsageException($"--ops {options.Ops}: expected at least 1");
            var result = BenchRunner.Run(options);
            if (result.Results.Count == 0) throw new UsageException($"--filter '{options.Filter}' matches no scenario ({string.Join(", ", BenchRunner.Names)})");
            if (pr.GetValue(json)) { Console.WriteLine(BenchResultJson.ToJson(result)); return ExitCodes.Ok; }
            AnsiConsole.MarkupLine($"host: {TerminalText.Escape(result.Machine)}; {result.Threads} thread(s), {result.OpsPerThread:N0} ops per thread");
            var t = new Table().AddColumns("Scenario", "ns/op", "ops/s (all threads)", "bytes allocated/op", "What one op is");
            foreach (var e in result.Results)
                t.AddRow(e.Name, e.NsPerOp.ToString("0.0"), e.OpsPerSec.ToString("N0"), e.AllocatedBytesPerOp.ToString("0.##"), TerminalText.Escape(e.Description));
            AnsiConsole.Write(t);
            AnsiConsole.MarkupLine($"[grey]{TerminalText.Escape(result.Note)}[/]");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
