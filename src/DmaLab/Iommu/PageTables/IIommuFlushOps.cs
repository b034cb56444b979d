namespace DmaLab.Iommu.PageTables;

/// <summary>Callbacks a page-table format makes into its driver (Linux: struct iommu_flush_ops).</summary>
public interface IIommuFlushOps
{
    void TlbFlushAll();
    /// <summary>Invalidate walk caches (and TLB) for a range whose table pages were freed.</summary>
    void TlbFlushWalk(ulong iova, ulong size, ulong granule);
    /// <summary>Record a leaf unmapped at <paramref name="iova"/> of size <paramref name="granule"/> for later invalidation.</summary>
    void TlbAddPage(ref IommuIotlbGather gather, ulong iova, ulong granule);
}
