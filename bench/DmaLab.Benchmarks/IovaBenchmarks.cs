using BenchmarkDotNet.Attributes;
using DmaLab.DmaIommu;
using DmaLab.Iova;
using DmaLab.Sim;

namespace DmaLab.Benchmarks;

/// <summary>
/// The IOVA allocator's hot paths: alloc_iova_fast + free_iova_fast served by the per-CPU magazine, the rbtree
/// path (alloc_iova + free_iova, and alloc_iova + __free_iova) with a million live ranges, and flush-queue queue_iova
/// with its full-ring flushes. The first three are the fast, tree and treed loops of shared/tools/iova-peer, which
/// runs the same sequences through Linux's own iova.c; <see cref="IovaTreeBuildBenchmarks"/> is its tree setup.
/// </summary>
[MemoryDiagnoser]
public class IovaBenchmarks
{
    IovaDomain _hot = null!;
    IovaDomain _big = null!;
    IovaDomain _fqDomain = null!;
    FlushQueue _fq = null!;
    const ulong Limit32 = 0xfffff;
    const ulong Limit64 = (1UL << 36) - 1;

    sealed class NopIommu : IIotlbFlushAll
    {
        public long Flushes;
        public void FlushIotlbAll() => Flushes++;
    }

    [GlobalSetup]
    public void Setup()
    {
        _hot = new IovaDomain(4096, 1, cpus: 1);
        // Warm the size-1 magazine so every measured allocation is a cache hit.
        ulong p = _hot.AllocIovaFast(0, 1, Limit32, true);
        _hot.FreeIovaFast(0, p, 1);

        _big = new IovaDomain(4096, 1, cpus: 1);
        _big.EnsureCapacity(1_000_002);
        for (int i = 0; i < 1_000_000; i++) _big.AllocIova(1, Limit64, true);

        var clock = new SimClock();
        _fqDomain = new IovaDomain(4096, 1, cpus: 1, clock);
        _fq = new FlushQueue(_fqDomain, new NopIommu(), clock);
        for (int i = 0; i < 4 * FlushQueue.DefaultFqSize; i++)
            _fq.QueueIova(0, _fqDomain.AllocIovaFast(0, 1, Limit32, true), 1);
    }

    [Benchmark(Description = "alloc_iova_fast+free_iova_fast (rcache hit)")]
    public ulong AllocFastFreeRcacheHit()
    {
        ulong pfn = _hot.AllocIovaFast(0, 1, Limit32, true);
        _hot.FreeIovaFast(0, pfn, 1);
        return pfn;
    }

    [Benchmark(Description = "alloc_iova+free_iova (rbtree, 1e6 live ranges)")]
    public ulong AllocFreeTree1M()
    {
        var r = _big.AllocIova(1, Limit64, true);
        _big.FreeIova(r.PfnLo);
        return r.PfnLo;
    }

    [Benchmark(Description = "alloc_iova+__free_iova (rbtree, 1e6 live ranges)")]
    public ulong AllocFreeTree1MDirect()
    {
        var r = _big.AllocIova(1, Limit64, true);
        _big.FreeIova(r);
        return r.PfnLo;
    }

    [Benchmark(Description = "alloc_iova_fast+queue_iova (flush queue, flush every 255)")]
    public ulong FlushQueueQueue()
    {
        ulong pfn = _fqDomain.AllocIovaFast(0, 1, Limit32, true);
        _fq.QueueIova(0, pfn, 1);
        return pfn;
    }
}
