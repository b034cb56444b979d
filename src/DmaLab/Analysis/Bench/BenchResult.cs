namespace DmaLab.Analysis.Bench;

/// <summary>The outcome of a <see cref="BenchRunner.Run"/>: the host it ran on and one entry per scenario, in run order.</summary>
/// <param name="Machine">the host (logical processors, OS, .NET runtime) — not the modelled platform</param>
/// <param name="Threads">threads, each with its own booted machine</param>
/// <param name="OpsPerThread">measured ops per thread and scenario</param>
/// <param name="Seed">base seed</param>
/// <param name="Note">how to read the figures</param>
public sealed record BenchResult(string Machine, int Threads, int OpsPerThread, ulong Seed, string Note, IReadOnlyList<BenchEntry> Results);
