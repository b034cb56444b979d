using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Hardware;

/// <summary>
/// A decoded stream configuration as the hardware holds it in its configuration cache (SMMUv3 STE+CD, SMMU S2CR+CB,
/// VT-d context entry, AMD DTE): mode, the IOTLB tag (ASID / domain ID / context bank) and the table root.
/// </summary>
public struct StreamConfig
{
    public StreamMode Mode;
    public int Tag;
    /// <summary>The page table whose root the configuration points at; the walker reads its descriptors from memory.</summary>
    public IIoPgtable? Table;
    /// <summary>The domain the driver attached, for fault reporting (hardware does not know it; the driver does).</summary>
    public IommuDomain? Domain;
}
