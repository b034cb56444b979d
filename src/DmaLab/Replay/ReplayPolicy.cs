namespace DmaLab.Replay;

/// <summary>
/// The DMA configuration a replay model runs: as traced (inferred per device), or a what-if override
/// (Linux: iommu.strict=1, iommu.strict=0 (DMA_FQ domains), iommu.passthrough=1 (identity domains), swiotlb=force).
/// </summary>
public enum ReplayPolicy : byte
{
    /// <summary>Every device keeps the path the trace shows (dma-direct, swiotlb or iommu-dma); IOMMU domains strict.</summary>
    AsTraced,
    /// <summary>Translated devices in strict DMA domains: every unmap invalidates the IOTLB at once.</summary>
    Strict,
    /// <summary>Translated devices in DMA_FQ domains: unmapped IOVAs wait in flush queues (dma-iommu.c).</summary>
    Lazy,
    /// <summary>Identity default domains: dma-direct, dma_addr = phys_addr.</summary>
    Passthrough,
    /// <summary>No IOMMU, swiotlb=force: every streaming mapping bounces.</summary>
    SwiotlbForce,
}
