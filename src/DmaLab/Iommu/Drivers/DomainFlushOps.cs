using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// The flush callbacks a domain's page table calls (Linux: the driver's struct iommu_flush_ops, e.g.
/// arm_smmu_s1_tlb_ops), routed to the driver's hardware invalidation for that domain.
/// </summary>
internal sealed class DomainFlushOps(IommuDriverBase driver, IommuDomain domain) : IIommuFlushOps
{
    public void TlbFlushAll() => driver.InvalidateDomain(domain);

    public void TlbFlushWalk(ulong iova, ulong size, ulong granule) => driver.InvalidateRange(domain, iova, size, granule, leaf: false);

    /// <summary>Linux: iommu_iotlb_gather_add_page(): a page of another size or disjoint from the gathered range syncs first.</summary>
    public void TlbAddPage(ref IommuIotlbGather gather, ulong iova, ulong granule)
    {
        if (gather.Queued) return; // the flush queue invalidates later (lazy mode)
        if (!gather.IsEmpty && ((gather.Pgsize != 0 && gather.Pgsize != granule) || iova + granule < gather.Start || iova > gather.End + 1))
            driver.IotlbSync(domain, ref gather);
        gather.Pgsize = granule;
        gather.AddRange(iova, granule);
    }
}
