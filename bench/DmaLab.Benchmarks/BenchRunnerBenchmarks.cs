using BenchmarkDotNet.Attributes;
using DmaLab.Analysis.Bench;

namespace DmaLab.Benchmarks;

/// <summary>
/// The <c>dmalab bench</c> scenarios (BenchRunner) under BenchmarkDotNet, one thread: each is the same booted machine
/// and the same loop, so the two tools' figures can be compared. The full-stack target: 4 KiB map+unmap through
/// iommu-dma on the ARM SMMU model, strict, at most 150 ns per pair, no allocation.
/// </summary>
[MemoryDiagnoser]
public class BenchRunnerBenchmarks
{
    const int Batch = 64;
    BenchScenario _scenario = null!;

    [Params("dma-direct-map-unmap-4k", "swiotlb-map-unmap-4k", "iommu-dma-strict-map-unmap-4k", "iommu-dma-lazy-map-unmap-4k",
        "iova-alloc-free-fast", "iommu-map-unmap-4k-lpae", "iotlb-translate-hit")]
    public string Scenario { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _scenario = BenchRunner.Create(Scenario);
        _scenario.Boot(1);
        _scenario.Run(4096);
    }

    /// <summary>One op of the scenario (a map+unmap pair, an alloc+free, a translation), averaged over a batch.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long Op() => _scenario.Run(Batch);
}
