using BenchmarkDotNet.Attributes;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Benchmarks;

/// <summary>Memory model hot paths: order-0 page alloc+free, CMA alloc+release of 1 MiB, a 4 KiB copy through PhysicalMemory.</summary>
[MemoryDiagnoser]
public class MmBenchmarks
{
    MemorySystem _mem = null!;
    PageAllocator _pages = null!;
    CmaArea _cma = null!;
    PhysAddr _src, _dst;

    [GlobalSetup]
    public void Setup()
    {
        _mem = new MemorySystem(new PlatformSpec
        {
            Name = "bench", Arch = "arm64",
            Memory = { new MemorySpec { Base = 0x8000_0000, Size = 1UL << 30 } },
            Cma = new CmaSpec { DefaultSize = 64UL << 20 },
        });
        _pages = _mem.PageAllocator;
        _cma = _mem.DefaultCma!;
        _pages.TryAllocPages(1, Gfp.Kernel, out _src);
        _dst = _src + PhysAddr.PageSize;
        _mem.Memory.Fill(_src, PhysAddr.PageSize, 0x5a);
        _mem.Memory.Fill(_dst, PhysAddr.PageSize, 0);
    }

    [Benchmark]
    public void Order0AllocFree()
    {
        _pages.TryAllocPages(0, Gfp.Kernel, out var p);
        _pages.FreePages(p, 0);
    }

    [Benchmark]
    public void CmaAllocRelease1MiB()
    {
        _cma.Alloc(256, 8, out var p);
        _cma.Release(p, 256);
    }

    [Benchmark]
    public MemAccess Copy4KiB() => _mem.Memory.Copy(_dst, _src, PhysAddr.PageSize);
}
