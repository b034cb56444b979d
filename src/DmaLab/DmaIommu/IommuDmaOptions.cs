using DmaLab.Iommu;

namespace DmaLab.DmaIommu;

/// <summary>
/// The per-domain tuning of iommu-dma (Linux: drivers/iommu/dma-iommu.c, struct iommu_dma_options): which flush
/// queue a lazy (DMA_FQ) domain gets, how many entries each ring holds and after how many milliseconds the timer
/// flushes it.
/// </summary>
public readonly record struct IommuDmaOptions(FlushQueueType QueueType, int FqSize, int FqTimeoutMs)
{
    /// <summary>
    /// Linux: iommu_dma_init_options(), called by iommu_dma_init_domain() for the first device of a domain: an IOMMU
    /// whose IOTLB flushes also sync shadow tables (dev->iommu->shadow_on_flush, set by the s390 driver for functions
    /// with tlb_refresh) gets one shared queue of IOVA_SINGLE_FQ_SIZE entries flushed every IOVA_SINGLE_FQ_TIMEOUT ms;
    /// everything else per-CPU queues of IOVA_DEFAULT_FQ_SIZE with IOVA_DEFAULT_FQ_TIMEOUT.
    /// </summary>
    public static IommuDmaOptions Init(DevIommu? dev) => dev is { ShadowOnFlush: true }
        ? new(FlushQueueType.Single, FlushQueue.SingleFqSize, FlushQueue.SingleFqTimeoutMs)
        : new(FlushQueueType.PerCpu, FlushQueue.DefaultFqSize, FlushQueue.DefaultFqTimeoutMs);

    /// <summary>How the report states it: "per-CPU flush queues (256 entries each, 10 ms timer)" or the single queue.</summary>
    public string Describe(int cpus) => QueueType == FlushQueueType.Single
        ? $"one shared flush queue ({FqSize} entries, {FqTimeoutMs} ms timer; the IOMMU shadows its IOTLB flushes)"
        : $"per-CPU flush queues ({cpus} x {FqSize} entries, {FqTimeoutMs} ms timer)";
}
