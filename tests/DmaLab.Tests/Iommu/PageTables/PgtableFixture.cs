using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Tests.Iommu.PageTables;

/// <summary>Physical memory with a table-page pool at 0x4000_0000 (64 MiB) and a page table of one format over it.</summary>
public sealed class PgtableFixture
{
    public static readonly PhysAddr PoolBase = new(0x4000_0000);
    public const int PoolPages = 16384;

    public PgtableFixture(IoPgtableFormat format, IoPgtableConfig config)
    {
        Memory = new PhysicalMemory([new MemRange(PoolBase, (ulong)PoolPages << PhysAddr.PageShift)]);
        Pages = new SimplePageAllocator(PoolBase, PoolPages);
        Flush = new RecordingFlushOps();
        config.Tlb ??= Flush;
        Config = config;
        Table = IoPgtableRegistry.Alloc(format, config, Memory, Pages);
    }

    public PhysicalMemory Memory { get; }
    public SimplePageAllocator Pages { get; }
    public RecordingFlushOps Flush { get; }
    public IoPgtableConfig Config { get; }
    public IIoPgtable Table { get; }

    public ulong U64(ulong addr) { Assert.True(Memory.TryReadU64(new PhysAddr(addr), out ulong v)); return v; }
    public uint U32(ulong addr) { Assert.True(Memory.TryReadU32(new PhysAddr(addr), out uint v)); return v; }

    public int Map(ulong iova, ulong paddr, ulong size, IommuProt prot = IommuProt.Read | IommuProt.Write)
        => Table.MapPages(iova, paddr, size, 1, prot, out _);

    public ulong Unmap(ulong iova, ulong size)
    {
        var g = IommuIotlbGather.Init();
        return Table.UnmapPages(iova, size, 1, ref g);
    }
}
