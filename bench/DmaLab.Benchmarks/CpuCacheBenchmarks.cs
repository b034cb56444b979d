using BenchmarkDotNet.Attributes;
using DmaLab.Mm;

namespace DmaLab.Benchmarks;

/// <summary>CpuCache: a 4 KiB CPU write through the cache (hits), clean of 4 KiB (64 dirty lines written back),
/// and invalidate of 4 KiB.</summary>
[MemoryDiagnoser]
public class CpuCacheBenchmarks
{
    CpuCache _cache = null!;
    readonly byte[] _data = new byte[4096];
    readonly PhysAddr _a = new(0x8000_0000);

    [GlobalSetup]
    public void Setup()
    {
        var mem = new PhysicalMemory([new MemRange(new PhysAddr(0x8000_0000), 16UL << 20)]);
        _cache = new CpuCache(mem);
        _cache.CpuWrite(_a, _data);
    }

    [Benchmark]
    public void Write4kThenClean()
    {
        _cache.CpuWrite(_a, _data);
        _cache.Clean(_a, 4096);
    }

    [Benchmark]
    public void Write4kThenInvalidate()
    {
        _cache.CpuWrite(_a, _data);
        _cache.Invalidate(_a, 4096);
    }
}
