namespace DmaLab.Iommu.PageTables;

/// <summary>Range of IOVA to invalidate once unmapping is done (Linux: struct iommu_iotlb_gather).</summary>
public struct IommuIotlbGather
{
    public ulong Start;
    public ulong End;        // inclusive, as in the kernel
    public ulong Pgsize;
    /// <summary>True when the caller will invalidate later through a flush queue (lazy mode).</summary>
    public bool Queued;
    /// <summary>Table pages freed by the unmap that must not be reused before the invalidation.</summary>
    public int FreedTablePages;

    public static IommuIotlbGather Init() => new() { Start = ulong.MaxValue, End = 0 };
    public readonly bool IsEmpty => Start > End;

    /// <summary>Linux: iommu_iotlb_gather_add_range().</summary>
    public void AddRange(ulong iova, ulong size)
    {
        ulong end = iova + size - 1;
        if (iova < Start) Start = iova;
        if (end > End) End = end;
    }
}
