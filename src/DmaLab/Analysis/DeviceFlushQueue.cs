namespace DmaLab.Analysis;

/// <summary>
/// The flush queue of a device's lazy (DMA_FQ) domain as iommu_dma_init_options() chose it (Linux:
/// drivers/iommu/dma-iommu.c): <paramref name="Type"/> "per-cpu" or "single", entries per ring, the number of rings and
/// the timer period.
/// </summary>
public sealed record DeviceFlushQueue(string Type, int Entries, int Rings, int TimeoutMs);
