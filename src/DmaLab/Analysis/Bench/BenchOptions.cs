namespace DmaLab.Analysis.Bench;

/// <summary>
/// What <see cref="BenchRunner"/> runs: the model's counterpart of the knobs of Linux's dma_map_benchmark
/// (kernel/dma/map_benchmark.c, struct map_benchmark: threads, seconds, granule). The kernel runs for a time;
/// we run a fixed number of map+unmap pairs per thread so that a run is repeatable in work done.
/// </summary>
public sealed record BenchOptions
{
    /// <summary>Per-thread operations of the measured phase when none are given: a few seconds for all scenarios.</summary>
    public const int DefaultOps = 200_000;

    /// <summary>Threads, each driving its own booted machine (the model is single-threaded per machine).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Measured operations per thread and scenario (one op = one map+unmap pair, or one alloc+free, one translation).</summary>
    public int Ops { get; init; } = DefaultOps;

    /// <summary>Seeds each thread's machine (thread i gets Seed + i) and where its buffer lies.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>
    /// Scenario names to run: comma-separated patterns, each a substring of the name or a glob with '*'
    /// (e.g. "iommu-dma-*,swiotlb"). Null or empty runs everything.
    /// </summary>
    public string? Filter { get; init; }

    /// <summary>
    /// Least host milliseconds of warm-up per thread before measuring, so the JIT has promoted the hot methods to
    /// optimised code; warm-up goes on while batches still get faster (see BenchRunner's warm-up). 0 runs only a
    /// fixed number of warm-up ops (tests: allocation and op counts do not need settled code).
    /// </summary>
    public int WarmupMs { get; init; } = 1000;

    internal void Validate()
    {
        if (Threads < 1 || Threads > 1024) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "bench threads must be between 1 and 1024");
        if (Ops < 1) throw new ArgumentOutOfRangeException(nameof(Ops), Ops, "bench ops must be at least 1");
        if (WarmupMs < 0) throw new ArgumentOutOfRangeException(nameof(WarmupMs), WarmupMs, "warm-up milliseconds cannot be negative");
    }
}
