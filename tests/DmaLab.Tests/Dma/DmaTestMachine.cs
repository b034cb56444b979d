using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.Dma;

/// <summary>A small booted machine for DMA tests: memory, CPU cache, kernel VA space, dma-direct, API with dma-debug.</summary>
sealed class DmaTestMachine
{
    public const ulong MiB = 1UL << 20, GiB = 1UL << 30;
    public MemorySystem Mem { get; }
    public CpuCache Cache { get; }
    public KernelAddressSpace Kva { get; }
    public DmaDirectOps Ops { get; }
    public DmaDebug Debug { get; } = new();
    public DmaMapping Api { get; }

    public DmaTestMachine(PlatformSpec spec, ulong atomicPool = 0)
    {
        Mem = new MemorySystem(spec);
        Cache = new CpuCache(Mem.Memory, spec.CacheLineSize);
        Kva = KernelAddressSpace.For(spec);
        Ops = new DmaDirectOps(Mem, Kva, Cache, atomicPool);
        Api = new DmaMapping(Kva, Cache, Debug);
    }

    /// <summary>arm64: 256 MiB at 2 GiB and 256 MiB at 8 GiB, 16 MiB default CMA (below 4 GiB).</summary>
    public static PlatformSpec Arm64(ulong vmalloc = 240 * MiB) => new()
    {
        Name = "dma-test-arm64", Arch = "arm64", VmallocSize = vmalloc,
        Memory = { new MemorySpec { Base = 2 * GiB, Size = 256 * MiB }, new MemorySpec { Base = 8 * GiB, Size = 256 * MiB } },
        Cma = new CmaSpec { DefaultSize = 16 * MiB },
    };

    public static PlatformSpec X86() => new()
    {
        Name = "dma-test-x86", Arch = "x86_64",
        Memory = { new MemorySpec { Base = 0, Size = 1 * GiB }, new MemorySpec { Base = 8 * GiB, Size = 256 * MiB } },
        Cma = new CmaSpec { DefaultSize = 0 },
    };

    public Device Device(string name, int mask = 64, bool coherent = false, params DmaRangeSpec[] ranges)
    {
        var spec = new DeviceSpec { Name = name, DmaMask = mask, Coherent = coherent };
        spec.DmaRanges.AddRange(ranges);
        var d = new Device(spec);
        Ops.Attach(d);
        return d;
    }

    /// <summary>An order-n block from the given zone (a driver's kmalloc/alloc_pages buffer).</summary>
    public PhysAddr Pages(int order, Gfp zone = Gfp.None)
    {
        Assert.True(Mem.PageAllocator.TryAllocPages(order, Gfp.Kernel | zone, out var p));
        return p;
    }
}
