namespace DmaLab.Iommu.PageTables;

/// <summary>Mapping permissions and attributes (Linux: include/linux/iommu.h IOMMU_READ ... IOMMU_PRIV).</summary>
[Flags]
public enum IommuProt
{
    None = 0,
    Read = 1 << 0,
    Write = 1 << 1,
    /// <summary>IOMMU_CACHE: DMA is cache coherent / memory is normal cacheable.</summary>
    Cache = 1 << 2,
    NoExec = 1 << 3,
    /// <summary>IOMMU_MMIO: device memory (e.g. the MSI doorbell).</summary>
    Mmio = 1 << 4,
    Priv = 1 << 5,
}
