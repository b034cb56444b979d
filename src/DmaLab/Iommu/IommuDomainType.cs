namespace DmaLab.Iommu;

/// <summary>
/// Domain types with the kernel's bit encoding (Linux: include/linux/iommu.h, IOMMU_DOMAIN_* built from
/// __IOMMU_DOMAIN_PAGING (bit 0), __IOMMU_DOMAIN_DMA_API (bit 1), __IOMMU_DOMAIN_PT (bit 2), __IOMMU_DOMAIN_DMA_FQ (bit 3)).
/// </summary>
public enum IommuDomainType
{
    /// <summary>All DMA is blocked (IOMMU_DOMAIN_BLOCKED = 0).</summary>
    Blocked = 0,
    /// <summary>Translation bypassed: DMA address = physical address (IOMMU_DOMAIN_IDENTITY = __IOMMU_DOMAIN_PT).</summary>
    Identity = 1 << 2,
    /// <summary>Paging domain owned by a subsystem such as DRM or VFIO (IOMMU_DOMAIN_UNMANAGED = __IOMMU_DOMAIN_PAGING).</summary>
    Unmanaged = 1 << 0,
    /// <summary>Paging domain used by the DMA API, strict invalidation (IOMMU_DOMAIN_DMA).</summary>
    Dma = (1 << 0) | (1 << 1),
    /// <summary>DMA API domain with a flush queue, lazy invalidation (IOMMU_DOMAIN_DMA_FQ).</summary>
    DmaFq = (1 << 0) | (1 << 1) | (1 << 3),
}

/// <summary>Helpers on <see cref="IommuDomainType"/> mirroring the kernel's flag tests.</summary>
public static class IommuDomainTypeExtensions
{
    public static bool IsPaging(this IommuDomainType t) => ((int)t & 1) != 0;
    public static bool IsDmaApi(this IommuDomainType t) => ((int)t & 2) != 0;
    /// <summary>The name sysfs prints in /sys/kernel/iommu_groups/N/type (Linux: iommu_domain_type_str()).</summary>
    public static string SysfsName(this IommuDomainType t) => t switch
    {
        IommuDomainType.Blocked => "blocked",
        IommuDomainType.Identity => "identity",
        IommuDomainType.Unmanaged => "unmanaged",
        IommuDomainType.Dma => "DMA",
        IommuDomainType.DmaFq => "DMA-FQ",
        _ => "unknown",
    };
}
