namespace DmaLab.Iommu;

/// <summary>Reserved region kinds (Linux: enum iommu_resv_type).</summary>
public enum ReservedRegionType
{
    /// <summary>IOMMU_RESV_DIRECT: must be identity mapped in every domain (RMRR, reserved-memory with iommu-addresses).</summary>
    Direct,
    /// <summary>IOMMU_RESV_DIRECT_RELAXABLE: identity mapped in DMA domains, may be dropped for device assignment (RMRR of USB/graphics).</summary>
    DirectRelaxable,
    /// <summary>IOMMU_RESV_RESERVED: the IOVA range must never be allocated (e.g. PCI host bridge windows).</summary>
    Reserved,
    /// <summary>IOMMU_RESV_MSI: a hardware MSI window translated by the IOMMU itself (VT-d / AMD interrupt range).</summary>
    Msi,
    /// <summary>IOMMU_RESV_SW_MSI: an IOVA window where software maps the MSI doorbell (ARM SMMU).</summary>
    SwMsi,
}
