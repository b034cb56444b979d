using BenchmarkDotNet.Attributes;
using DmaLab.Trace;
using DmaLab.Replay;

namespace DmaLab.Benchmarks;

/// <summary>
/// Model-backed replay throughput, per event (OperationsPerInvoke), on generated dma-direct traffic
/// (SyntheticDmaTrace, 2 devices, up to 1024 live mappings each) replayed from records in memory:
/// - MachineDirect_500k: MachineReplayModel as traced (dma-direct), lookahead window on.
/// - MachineIommuStrict_500k: the same calls with every device behind VT-d, strict (IOVA allocator + IOTLB estimate).
/// - MachineIommuLazy_500k: the same behind VT-d with flush queues.
/// - WhatIfLazy_500k: as traced plus a lazy VT-d what-if on a booted Machine (MachineWhatIfModel: DMA API, IOMMU
///   driver, page tables, and one device access per mapped page through the translation unit).
/// - VtdSample: the real qemu-vtd-strict capture (4468 lines, text in memory) through ReplayRunner.
/// </summary>
[MemoryDiagnoser]
public class ReplayBenchmarks
{
    const int N = 500_000;
    byte[] _vtd = [];
    byte[] _strict2 = [];
    /// <summary>Event lines of qemu-vtd-strict-sample2 (VT-d strict, concurrent dd phases).</summary>
    const int Strict2Events = 44222;

    [GlobalSetup]
    public void Setup()
    {
        _vtd = File.ReadAllBytes(DataPath("qemu-vtd-strict-sample.trace.xz"));
        // Decompressed once: the benchmark measures the replay (parsing, reorder window, model), not xz.
        _strict2 = Decompress(DataPath("qemu-vtd-strict-sample2.trace.xz"));
    }

    static string DataPath(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "data", "traces", name);
        return File.Exists(path) ? path : Path.Combine(FindRoot(), "tests", "data", "traces", name);
    }

    static byte[] Decompress(string path)
    {
        using var input = File.OpenRead(path);
        using var xz = new SharpCompress.Compressors.Xz.XZStream(input);
        using var ms = new MemoryStream();
        xz.CopyTo(ms);
        return ms.ToArray();
    }

    static string FindRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "DmaLab.slnx"))) d = d.Parent;
        return d?.FullName ?? Directory.GetCurrentDirectory();
    }

    static long Replay(IReplayModel model)
    {
        var gen = new SyntheticDmaTrace(seed: 1, N, devices: 2, maxLive: 1024);
        var replayer = new TraceReplayer(new ReplayOptions { Model = model });
        var r = new TraceRecord();
        while (gen.Next(r)) replayer.Consume(r);
        return replayer.Finish().Maps;
    }

    [Benchmark(OperationsPerInvoke = N)]
    public long MachineDirect_500k() => Replay(new MachineReplayModel(new MachineReplayOptions { Cpus = 4 }));

    [Benchmark(OperationsPerInvoke = N)]
    public long MachineIommuStrict_500k() => Replay(new MachineReplayModel(new MachineReplayOptions
    { Cpus = 4, Policy = ReplayPolicy.Strict, IommuModel = "intel-vtd" }));

    [Benchmark(OperationsPerInvoke = N)]
    public long MachineIommuLazy_500k() => Replay(new MachineReplayModel(new MachineReplayOptions
    { Cpus = 4, Policy = ReplayPolicy.Lazy, IommuModel = "intel-vtd" }));

    [Benchmark(OperationsPerInvoke = N)]
    public long WhatIfLazy_500k() => Replay(new ReplayWhatIf(new MachineReplayModel(new MachineReplayOptions { Cpus = 4 }),
        new MachineReplayOptions { Cpus = 4, Policy = ReplayPolicy.Lazy, IommuModel = "intel-vtd" }));

    [Benchmark(OperationsPerInvoke = 4468)]
    public long VtdSample() => ReplayRunner.Run(new MemoryStream(_vtd, writable: false), "vtd").Maps;

    /// <summary>A real strict VT-d capture (plain text in memory) through ReplayRunner: ns per event line.</summary>
    [Benchmark(OperationsPerInvoke = Strict2Events)]
    public long VtdStrict2() => ReplayRunner.Run(new MemoryStream(_strict2, writable: false), "strict2").Maps;
}
