namespace DmaLab.Analysis.Bench;

/// <summary>Which dma_map_ops the bench master ends up with after arch_setup_dma_ops().</summary>
internal enum DmaApiPath
{
    /// <summary>No IOMMU: dma-direct, the DMA address is the physical address.</summary>
    Direct,
    /// <summary>No IOMMU, swiotlb=force: every map bounces through the default pool.</summary>
    SwiotlbForce,
    /// <summary>Behind an SMMUv3, iommu.strict=1: DMA domain, invalidate + sync on every unmap.</summary>
    IommuStrict,
    /// <summary>Behind an SMMUv3, iommu.strict=0: DMA-FQ domain, IOVAs wait in the flush queue.</summary>
    IommuLazy,
}
