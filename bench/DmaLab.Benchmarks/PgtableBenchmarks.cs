using BenchmarkDotNet.Attributes;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Benchmarks;

/// <summary>4 KiB map + unmap (+ a hardware walk) per io-pgtable format, steady state (tables already populated).</summary>
[MemoryDiagnoser]
public class PgtableBenchmarks
{
    sealed class BumpAllocator(ulong basePage, int pages) : IPageAllocator
    {
        readonly Stack<ulong> _free = new();
        readonly ulong _end = basePage + ((ulong)pages << 12);
        ulong _next = basePage;
        long _inUse;
        public long PagesInUse => _inUse;

        public bool TryAllocPages(int order, Gfp gfp, out PhysAddr page)
        {
            if (order == 0 && _free.Count > 0) { page = new PhysAddr(_free.Pop()); _inUse++; return true; }
            ulong size = 4096UL << order;
            ulong a = (_next + size - 1) & ~(size - 1);
            if (a + size > _end) { page = default; return false; }
            _next = a + size;
            _inUse += 1L << order;
            page = new PhysAddr(a);
            return true;
        }

        public void FreePages(PhysAddr page, int order)
        {
            _inUse -= 1L << order;
            if (order == 0) _free.Push(page.Value);
        }
    }

    sealed class NullFlush : IIommuFlushOps
    {
        public void TlbFlushAll() { }
        public void TlbFlushWalk(ulong iova, ulong size, ulong granule) { }
        public void TlbAddPage(ref IommuIotlbGather gather, ulong iova, ulong granule) => gather.AddRange(iova, granule);
    }

    [Params(IoPgtableFormat.ArmLpaeS1, IoPgtableFormat.ArmLpaeS2, IoPgtableFormat.ArmV7s, IoPgtableFormat.IntelSecondLevel,
        IoPgtableFormat.AmdV1, IoPgtableFormat.Omap, IoPgtableFormat.Exynos, IoPgtableFormat.Tegra, IoPgtableFormat.Rockchip,
        IoPgtableFormat.S390)]
    public IoPgtableFormat Format;

    IIoPgtable _table = null!;
    const ulong Iova = 0x1234_5000, Pa = 0x8000_0000;

    [GlobalSetup]
    public void Setup()
    {
        var mem = new PhysicalMemory([new MemRange(new PhysAddr(0x4000_0000), 64UL << 20)]);
        var cfg = new IoPgtableConfig { PgsizeBitmap = 0x4020_1000 | 0x0111_0000, Ias = Format is IoPgtableFormat.ArmLpaeS1 or IoPgtableFormat.ArmLpaeS2 or IoPgtableFormat.IntelSecondLevel or IoPgtableFormat.AmdV1 ? 48 : 32, Oas = 32, Tlb = new NullFlush() };
        if (Format == IoPgtableFormat.IntelSecondLevel || Format == IoPgtableFormat.AmdV1) cfg.Oas = 48;
        _table = IoPgtableRegistry.Alloc(Format, cfg, mem, new BumpAllocator(0x4000_0000, 16384));
        // Populate the path once, as a long-running domain would have it; formats that free tables on unmap
        // (OMAP, Tegra) keep a neighbour page mapped so the table stays.
        _table.MapPages(Iova + 0x1000, Pa, 0x1000, 1, IommuProt.Read, out _);
    }

    [Benchmark]
    public ulong MapUnmap4K()
    {
        _table.MapPages(Iova, Pa, 0x1000, 1, IommuProt.Read | IommuProt.Write, out _);
        var g = IommuIotlbGather.Init();
        return _table.UnmapPages(Iova, 0x1000, 1, ref g);
    }

    [Benchmark]
    public ulong Walk4K() => _table.Walk(Iova + 0x1000).Phys;
}
