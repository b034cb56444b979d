using DmaLab.Analysis.Bench;
using BenchmarkDotNet.Running;
using DmaLab.Cli.Report;

namespace DmaLab.Benchmarks;

public static class Program
{
    /// <summary>
    /// BenchmarkDotNet suites by default. <c>--bench-threads 1,2,4 [--ops N] [--seed N] [--filter-bench P]</c> runs
    /// <see cref="BenchRunner"/> (what <c>dmalab bench</c> runs) once per thread count and prints one JSON object per
    /// line, so a self-contained publish of this project can measure scaling on a machine without the SDK.
    /// </summary>
    public static int Main(string[] args)
    {
        int at = Array.IndexOf(args, "--bench-threads");
        if (at < 0)
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
            return 0;
        }
        var threads = Arg(args, "--bench-threads")!.Split(',').Select(int.Parse).ToArray();
        int ops = int.Parse(Arg(args, "--ops") ?? BenchOptions.DefaultOps.ToString());
        ulong seed = ulong.Parse(Arg(args, "--seed") ?? "1");
        string? filter = Arg(args, "--filter-bench");
        foreach (int t in threads)
        {
            var r = BenchRunner.Run(new BenchOptions { Threads = t, Ops = ops, Seed = seed, Filter = filter });
            Console.WriteLine(BenchResultJson.ToJson(r).ReplaceLineEndings(" "));
        }
        return 0;
    }

    static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
