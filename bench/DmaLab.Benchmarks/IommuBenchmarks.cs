using BenchmarkDotNet.Attributes;
using DmaLab.Devices;
using DmaLab.Iommu;
using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Sim;

namespace DmaLab.Benchmarks;

/// <summary>
/// IOMMU core and hardware hot paths: a 4 KiB iommu_map + iommu_unmap (strict: the unmap's invalidation and sync
/// included) on ARM LPAE through the core and the driver, and a device translation that hits the IOTLB.
/// </summary>
[MemoryDiagnoser]
public class IommuBenchmarks
{
    /// <summary>A page allocator for the benchmark: a stack of free 4 KiB pages (only order 0 is needed by LPAE tables).</summary>
    sealed class StackPageAllocator(ulong @base, int pages) : IPageAllocator
    {
        readonly Stack<ulong> _free = new(Enumerable.Range(0, pages).Select(i => @base + ((ulong)(pages - 1 - i) << 12)));
        ulong _next = @base + ((ulong)pages << 12);
        public long PagesInUse { get; private set; }
        public bool TryAllocPages(int order, Gfp gfp, out PhysAddr page)
        {
            if (order == 0 && _free.TryPop(out var p)) { PagesInUse++; page = new PhysAddr(p); return true; }
            // higher orders (driver tables at boot) come from above the stack, never freed in the benchmark
            _next = (_next + (4096UL << order) - 1) & ~((4096UL << order) - 1);
            page = new PhysAddr(_next);
            _next += 4096UL << order;
            PagesInUse += 1L << order;
            return true;
        }
        public void FreePages(PhysAddr page, int order) { PagesInUse -= 1L << order; if (order == 0) _free.Push(page.Value); }
    }

    IommuCore _core = null!;
    IommuDomain _domain = null!;
    IommuCore _coreV2 = null!;
    IommuDomain _domainV2 = null!;
    TranslationUnit _tu = null!;
    int _port;

    static (IommuSubsystem Sub, Device Dev) Boot(string model, string compatible)
    {
        var p = new PlatformSpec { Name = "bench" };
        p.Memory.Add(new MemorySpec { Base = 0x8000_0000, Size = 1UL << 30 });
        p.Iommus.Add(new IommuSpec { Name = "smmu", Model = model, Compatible = compatible });
        p.Devices.Add(new DeviceSpec { Name = "0000:00:04.0", Bus = "pci", BusId = "0000:00:04.0", Iommu = "smmu", DmaMask = 64 });
        var mem = new PhysicalMemory([new MemRange(new PhysAddr(0x8000_0000), 1UL << 30)]);
        var devs = p.Devices.Select(d => new Device(d)).ToList();
        var sub = IommuSubsystem.Boot(p, devs, mem, new StackPageAllocator(0xA000_0000, 4096), new SimClock(), new CostModel());
        return (sub, devs[0]);
    }

    [GlobalSetup]
    public void Setup()
    {
        var (sub, dev) = Boot("ArmSmmuV3", "arm,smmu-v3");
        _core = sub.Core;
        _domain = sub.Info(dev).DefaultDomain!;
        (_tu, _port) = sub.TranslationFor(dev)!.Value;
        // warm: tables for the benchmark IOVA exist, one IOTLB entry for the translate benchmark
        _core.Map(_domain, 0x1000_0000, 0x8000_0000, 4096, IommuProt.Read | IommuProt.Write);
        _tu.Translate(_port, 0x1000_0000, false, out _);
        _core.Map(_domain, 0x2000_0000, 0x8000_1000, 4096, IommuProt.Read | IommuProt.Write);
        _core.Unmap(_domain, 0x2000_0000, 4096);

        var (sub2, dev2) = Boot("ArmSmmu", "arm,mmu-500");
        _coreV2 = sub2.Core;
        _domainV2 = sub2.Info(dev2).DefaultDomain!;
        _coreV2.Map(_domainV2, 0x2000_0000, 0x8000_1000, 4096, IommuProt.Read | IommuProt.Write);
        _coreV2.Unmap(_domainV2, 0x2000_0000, 4096);
    }

    /// <summary>iommu_map + iommu_unmap of 4 KiB on SMMUv3 / LPAE S1: map, unmap, CMD_TLBI_NH_VA + CMD_SYNC.</summary>
    [Benchmark]
    public ulong MapUnmap4K_SmmuV3()
    {
        _core.Map(_domain, 0x2000_0000, 0x8000_1000, 4096, IommuProt.Read | IommuProt.Write);
        return _core.Unmap(_domain, 0x2000_0000, 4096);
    }

    /// <summary>The same on SMMU v2 (MMU-500) / LPAE S1, invalidation by TLBIVA register write.</summary>
    [Benchmark]
    public ulong MapUnmap4K_SmmuV2()
    {
        _coreV2.Map(_domainV2, 0x2000_0000, 0x8000_1000, 4096, IommuProt.Read | IommuProt.Write);
        return _coreV2.Unmap(_domainV2, 0x2000_0000, 4096);
    }

    /// <summary>The io-pgtable alone (no core, no invalidation), to separate the layers' costs.</summary>
    [Benchmark]
    public ulong PgtableOnlyMapUnmap4K()
    {
        var t = _domainV2.Pgtable!;
        t.MapPages(0x2000_0000, 0x8000_1000, 4096, 1, IommuProt.Read | IommuProt.Write, out _);
        var g = IommuIotlbGather.Init();
        g.Queued = true;
        return t.UnmapPages(0x2000_0000, 4096, 1, ref g);
    }

    /// <summary>A device read translated by an IOTLB hit.</summary>
    [Benchmark]
    public ulong TranslateIotlbHit()
    {
        _tu.Translate(_port, 0x1000_0010, false, out ulong pa);
        return pa;
    }
}
