namespace DmaLab.DmaIommu;

/// <summary>Linux: drivers/iommu/dma-iommu.c, enum iommu_dma_queue_type.</summary>
public enum FlushQueueType
{
    /// <summary>IOMMU_DMA_OPTS_PER_CPU_QUEUE: one ring of IOVA_DEFAULT_FQ_SIZE per CPU.</summary>
    PerCpu,
    /// <summary>IOMMU_DMA_OPTS_SINGLE_QUEUE: one shared ring of IOVA_SINGLE_FQ_SIZE, chosen when the IOMMU
    /// shadows its IOTLB flushes (dev->iommu->shadow_on_flush, e.g. VT-d in caching mode).</summary>
    Single,
}
