namespace DmaLab.Iommu.PageTables;

/// <summary>
/// One page-table instance of one format, with its table pages in simulated physical memory
/// (Linux: struct io_pgtable_ops). Results are values: 0 or a negative errno, never exceptions.
/// </summary>
public interface IIoPgtable
{
    IoPgtableFormat Format { get; }
    IoPgtableConfig Config { get; }
    /// <summary>Physical address of the top-level table (what TTBR/DTE/context entry points to).</summary>
    Mm.PhysAddr Root { get; }
    /// <summary>Table pages (4 KiB units) currently allocated for this table, root included.</summary>
    long TablePages { get; }

    /// <summary>Maps <paramref name="pgcount"/> pages of size <paramref name="pgsize"/> (which must be in the bitmap).
    /// Returns 0 or -errno (-EEXIST when something is mapped there, -EINVAL, -ENOMEM); <paramref name="mapped"/> says how much was done.</summary>
    int MapPages(ulong iova, ulong paddr, ulong pgsize, ulong pgcount, IommuProt prot, out ulong mapped);
    /// <summary>Unmaps; returns bytes unmapped (0 when nothing was mapped at iova, or a block would have to be split).</summary>
    ulong UnmapPages(ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather);
    /// <summary>Software lookup; 0 when not mapped.</summary>
    ulong IovaToPhys(ulong iova);
    /// <summary>Hardware walk, reading each descriptor from simulated memory.</summary>
    WalkResult Walk(ulong iova);
    /// <summary>Frees every table page (Linux: free_io_pgtable_ops()).</summary>
    void Free();
}
