using DmaLab.Iommu;

namespace DmaLab.DmaIommu;

/// <summary>
/// The iommu-dma state of one DMA domain (Linux: drivers/iommu/dma-iommu.c, struct iommu_dma_cookie as set up by
/// iommu_get_dma_cookie() + iommu_dma_init_domain()): the IOVA allocator, the flush queue of a DMA_FQ domain, and the
/// flush-all callback the queue invokes. Every device attached to the domain shares this cookie — with the
/// per-instance default-domain policy that means one IOVA space and one page table for all masters of an IOMMU.
/// </summary>
public sealed class IommuDmaCookie : IIotlbFlushAll
{
    internal IommuDmaCookie(IommuDomain domain, IommuDmaIovaAllocator allocator)
    {
        Domain = domain;
        Allocator = allocator;
    }

    public IommuDomain Domain { get; }
    public IommuDmaIovaAllocator Allocator { get; }
    /// <summary>cookie->fq_domain: non-null when unmaps are queued (lazy invalidation).</summary>
    public FlushQueue? Fq => Allocator.Fq;
    /// <summary>cookie->options as iommu_dma_init_options() set them for the domain's first device.</summary>
    public IommuDmaOptions Options { get; internal set; } = IommuDmaOptions.Init(null);
    /// <summary>Devices whose DMA ops use this cookie, in attach order.</summary>
    public List<Devices.Device> Devices { get; } = new();

    /// <summary>fq_flush_iotlb(): the driver's flush_iotlb_all for the whole domain.</summary>
    public void FlushIotlbAll()
    {
        FlushAllCount++;
        IommuCore.FlushIotlbAll(Domain);
    }

    /// <summary>Number of flush-all invalidations the flush queue issued.</summary>
    public long FlushAllCount { get; private set; }
    /// <summary>iommu_unmap_fast + iommu_iotlb_sync pairs done right away (strict unmaps).</summary>
    public long StrictSyncs { get; internal set; }
    /// <summary>Unmaps whose invalidation was deferred to the flush queue.</summary>
    public long QueuedUnmaps { get; internal set; }

    public override string ToString() => $"iommu-dma cookie of {Domain}";
}
