using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DmaLab.Analysis.Bench;

/// <summary>
/// The model's counterpart of Linux's dma_map_benchmark (kernel/dma/map_benchmark.c): N threads, each mapping and
/// unmapping a granule-sized buffer in a loop, reporting per-op latency and aggregate throughput. Each thread drives
/// its own booted machine (the model is single-threaded per machine), warms up, then all threads start together at a
/// barrier. Timing is host time (Stopwatch) — it measures the tool, never the model, which keeps only virtual time.
/// </summary>
public static class BenchRunner
{
    /// <summary>The scenario names, in run order (stable across versions).</summary>
    public static IReadOnlyList<string> Names { get; } = CreateAll().Select(s => s.Name).ToArray();

    /// <summary>Runs every scenario <paramref name="options"/> selects; bad options are an <see cref="ArgumentException"/>.</summary>
    public static BenchResult Run(BenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var patterns = ParseFilter(options.Filter);
        var results = new List<BenchEntry>();
        foreach (var name in Names)
        {
            if (!Matches(name, patterns)) continue;
            results.Add(RunScenario(name, options));
        }
        if (results.Count == 0 && patterns.Length > 0)
            throw new ArgumentException($"bench filter '{options.Filter}' matches none of: {string.Join(", ", Names)}", nameof(options));
        return new BenchResult(HostDescription(), options.Threads, options.Ops, options.Seed,
            "host time of the model, not modelled hardware time; each thread drives its own booted machine " +
            "(the model is single-threaded per machine); nsPerOp is per thread, opsPerSec is all threads together",
            results);
    }

    /// <summary>The host: logical processors, OS, architecture and .NET runtime.</summary>
    public static string HostDescription() =>
        $"{Environment.ProcessorCount} logical processors, {RuntimeInformation.OSDescription} " +
        $"{RuntimeInformation.OSArchitecture}, {RuntimeInformation.FrameworkDescription}";

    static BenchScenario[] CreateAll() =>
    [
        new DmaApiScenario(DmaApiPath.Direct),
        new DmaApiScenario(DmaApiPath.SwiotlbForce),
        new DmaApiScenario(DmaApiPath.IommuStrict),
        new DmaApiScenario(DmaApiPath.IommuLazy),
        new IovaFastScenario(),
        new IommuMapScenario(),
        new IotlbHitScenario(),
    ];

    /// <summary>A fresh, unbooted scenario by its stable name (the BenchmarkDotNet suite drives these too).</summary>
    internal static BenchScenario Create(string name) => CreateAll().FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"no bench scenario '{name}'; known: {string.Join(", ", Names)}", nameof(name));

    /// <summary>Per-thread outcome of the measured phase.</summary>
    struct ThreadSample
    {
        public long StartTicks, EndTicks, AllocatedBytes, Completed, ModelCount;
        public Exception? Error;
    }

    static BenchEntry RunScenario(string name, BenchOptions o)
    {
        int n = o.Threads;
        var samples = new ThreadSample[n];
        string description = "";
        using var ready = new Barrier(n);
        var threads = new Thread[n];
        for (int t = 0; t < n; t++)
        {
            int tid = t;
            threads[t] = new Thread(() => ThreadMain(tid)) { IsBackground = true, Name = $"bench {name} #{tid}" };
        }
        foreach (var th in threads) th.Start();
        foreach (var th in threads) th.Join();
        foreach (var s in samples)
            if (s.Error is not null) throw new InvalidOperationException($"bench {name}: {s.Error.Message}", s.Error);

        long start = samples.Min(s => s.StartTicks), end = samples.Max(s => s.EndTicks);
        long total = (long)o.Ops * n;
        double wallSec = Math.Max(end - start, 1) / (double)Stopwatch.Frequency;
        double nsPerOp = samples.Average(s => (s.EndTicks - s.StartTicks) * 1e9 / Stopwatch.Frequency / o.Ops);
        long model = samples.Any(s => s.ModelCount < 0) ? -1 : samples.Sum(s => s.ModelCount);
        return new BenchEntry(name, description, nsPerOp, total / wallSec, (double)samples.Sum(s => s.AllocatedBytes) / total,
            total, samples.Sum(s => s.Completed), model);

        void ThreadMain(int tid)
        {
            ref var s = ref samples[tid];
            bool arrived = false;
            try
            {
                var sc = Create(name);
                if (tid == 0) description = sc.Description;
                sc.Boot(o.Seed + (ulong)tid);
                Warmup(sc, o);
                long model0 = sc.ModelCount;
                arrived = true;
                ready.SignalAndWait();
                long alloc0 = GC.GetAllocatedBytesForCurrentThread();
                s.StartTicks = Stopwatch.GetTimestamp();
                s.Completed = sc.Run(o.Ops);
                s.EndTicks = Stopwatch.GetTimestamp();
                s.AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - alloc0;
                long model1 = sc.ModelCount;
                s.ModelCount = model0 < 0 ? -1 : model1 - model0;
            }
            catch (Exception e)
            {
                s.Error = e;
                // Let the others start rather than wait forever on a thread that will never arrive.
                if (!arrived) ready.RemoveParticipant();
            }
        }
    }

    /// <summary>
    /// Runs the scenario until the JIT has settled: first a few thousand ops (so every path, including the flush
    /// queue's full-ring flush, has run), then batches for at least <see cref="BenchOptions.WarmupMs"/> and until no
    /// batch has been more than 3% faster than the best one for 250 ms, at most max(3 s, twice the minimum).
    /// Tiered compilation with PGO passes hot methods through an instrumented tier that can run several times slower
    /// than the final code for half a second or more while drifting only a few percent per 100 ms; a shorter
    /// minimum or quiet period measured that tier in about one run in six (836–954 ns instead of ~113 ns for
    /// iommu-dma strict).
    /// </summary>
    static void Warmup(BenchScenario sc, BenchOptions o)
    {
        const int Batch = 1024;
        sc.Run(Math.Min(o.Ops, 4 * Batch));
        if (o.WarmupMs == 0) return;
        long f = Stopwatch.Frequency;
        long start = Stopwatch.GetTimestamp(), minEnd = start + o.WarmupMs * f / 1000;
        long maxEnd = start + Math.Max(3 * f, 2L * o.WarmupMs * f / 1000), quiet = f / 4;
        long best = long.MaxValue, lastImprovement = start;
        while (true)
        {
            long t0 = Stopwatch.GetTimestamp();
            sc.Run(Batch);
            long t1 = Stopwatch.GetTimestamp(), took = t1 - t0;
            if (took < best - best / 33) lastImprovement = t1;
            if (took < best) best = took;
            if (t1 >= maxEnd || (t1 >= minEnd && t1 - lastImprovement >= quiet)) return;
        }
    }

    /// <summary>The scenario names a filter selects (every name for none), in run order: lets a caller reject a filter
    /// that matches nothing before any work.</summary>
    public static IReadOnlyList<string> Select(string? filter)
    {
        var patterns = ParseFilter(filter);
        return Names.Where(n => Matches(n, patterns)).ToArray();
    }

    static string[] ParseFilter(string? filter) =>
        string.IsNullOrWhiteSpace(filter) ? [] : filter.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    static bool Matches(string name, string[] patterns)
    {
        if (patterns.Length == 0) return true;
        foreach (var p in patterns)
            if (p.Contains('*') ? Glob(name, p) : name.Contains(p, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>'*' matches any run of characters; everything else literally (case-insensitive).</summary>
    static bool Glob(string name, string pattern)
    {
        var parts = pattern.Split('*');
        int pos = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (i == 0)
            {
                if (!name.StartsWith(part, StringComparison.OrdinalIgnoreCase)) return false;
                pos = part.Length;
                continue;
            }
            if (i == parts.Length - 1)
                return name.Length - pos >= part.Length && name.EndsWith(part, StringComparison.OrdinalIgnoreCase);
            int at = name.IndexOf(part, pos, StringComparison.OrdinalIgnoreCase);
            if (at < 0) return false;
            pos = at + part.Length;
        }
        return pos == name.Length;
    }
}
