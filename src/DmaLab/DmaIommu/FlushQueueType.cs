namespace DmaLab.DmaIommu;

/// <summary>Linux: drivers/iommu/dma-iommu.c, enum iommu_dma_queue_type.</summary>
public enum FlushQueueType
{
    /// <summary>IOMMU_DMA_OPTS_PER_CPU_QUEUE: one ring of IOVA_DEFAULT_FQ_SIZE per CPU.</summary>
    PerCpu,
    /// <summary>IOMMU_DMA_OPTS_SINGLE_QUEUE: one shared ring of IOVA_SINGLE_FQ_SIZE, chosen by iommu_dma_init_options()
    /// when the IOMMU's flushes also sync shadow tables (dev->iommu->shadow_on_flush). Only the s390 driver sets it,
    /// for PCI functions with tlb_refresh (s390_iommu_probe_device()); VT-d caching mode does not.</summary>
    Single,
}
