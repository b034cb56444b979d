namespace DmaLab.Iommu.PageTables;

/// <summary>Page-table formats (Linux: enum io_pgtable_fmt, plus the private formats of the small SoC drivers).</summary>
public enum IoPgtableFormat
{
    ArmLpaeS1,
    ArmLpaeS2,
    ArmV7s,
    IntelSecondLevel,
    AmdV1,
    Omap,
    Msm,
    Exynos,
    Tegra,
    Rockchip,
    /// <summary>s390 zPCI DMA translation tables (region / segment / page tables, drivers/iommu/s390-iommu.c).</summary>
    S390,
    /// <summary>No page table: the virtio-iommu device's own mapping tree, changed by MAP/UNMAP requests
    /// (drivers/iommu/virtio-iommu.c).</summary>
    VirtioIommu,
}
