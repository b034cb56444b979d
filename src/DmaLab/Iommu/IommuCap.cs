namespace DmaLab.Iommu;

/// <summary>Capabilities a driver may report for a device (Linux: enum iommu_cap).</summary>
public enum IommuCap
{
    /// <summary>IOMMU_CAP_CACHE_COHERENCY: the IOMMU can enforce cache-coherent DMA.</summary>
    CacheCoherency,
    /// <summary>IOMMU_CAP_NOEXEC: IOMMU_NOEXEC is honoured.</summary>
    NoExec,
    /// <summary>IOMMU_CAP_PRE_BOOT_PROTECTION: firmware kept DMA blocked until the kernel took over.</summary>
    PreBootProtection,
    /// <summary>IOMMU_CAP_ENFORCE_CACHE_COHERENCY.</summary>
    EnforceCacheCoherency,
    /// <summary>IOMMU_CAP_DEFERRED_FLUSH: invalidation is expensive enough that a flush queue (lazy mode) is worth it.</summary>
    DeferredFlush,
    /// <summary>IOMMU_CAP_DIRTY_TRACKING.</summary>
    DirtyTracking,
}
