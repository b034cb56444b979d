using BenchmarkDotNet.Attributes;
using DmaLab.Iova;

namespace DmaLab.Benchmarks;

/// <summary>
/// Building a large IOVA tree: a million alloc_iova(1 page, 2^36-1, size-aligned) into a fresh domain, each placed
/// just below the previous one (the tree setup of shared/tools/iova-peer, which times the same sequence through
/// Linux's iova.c). One invocation per iteration so every iteration starts from an empty domain.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class IovaTreeBuildBenchmarks
{
    const int Ranges = 1_000_000;
    const ulong Limit64 = (1UL << 36) - 1;
    IovaDomain _d = null!;

    [IterationSetup]
    public void FreshDomain()
    {
        _d = new IovaDomain(4096, 1, cpus: 1);
        _d.EnsureCapacity(Ranges + 2);
    }

    [Benchmark(Description = "alloc_iova into a growing tree (1e6 ranges)", OperationsPerInvoke = Ranges)]
    public ulong Build1M()
    {
        ulong acc = 0;
        for (int i = 0; i < Ranges; i++) acc += _d.AllocIova(1, Limit64, true).PfnLo;
        return acc;
    }
}
