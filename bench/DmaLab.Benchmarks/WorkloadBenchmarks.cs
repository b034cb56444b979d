using BenchmarkDotNet.Attributes;
using DmaLab.Analysis;
using DmaLab.Platform;
using DmaLab.Workloads;

namespace DmaLab.Benchmarks;

/// <summary>
/// The workloads' own overhead: the exposure bookkeeping of one 2 KiB map+unmap (done on every map of the driver
/// workloads), and whole nic-rings runs (1024 packets) on a freshly booted arm64-ref machine under strict and lazy
/// (the boot is outside the measurement).
/// </summary>
[MemoryDiagnoser]
public class WorkloadBenchmarks
{
    readonly ExposureTracker _exposure = new(8UL << 30);
    WorkloadContext _ctx = null!;
    static readonly PlatformSpec Spec = PlatformLoader.LoadBuiltIn("arm64-ref");

    [Params("strict", "lazy")]
    public string Policy { get; set; } = "strict";

    [Benchmark]
    public ulong ExposureMapUnmap2K()
    {
        _exposure.OnMap(0x8_8000_0800, 2048, 4096);
        ulong o = _exposure.OutsideBytes;
        _exposure.OnUnmap(0x8_8000_0800, 2048, 4096);
        return o;
    }

    [IterationSetup(Target = nameof(NicRings1024Packets))]
    public void Boot() => _ctx = WorkloadBoot.Boot(Spec, Policy, 1);

    [Benchmark]
    public int NicRings1024Packets() => NicRingsWorkload.Run(_ctx, 1, packets: 1024).Metrics.Count;
}
