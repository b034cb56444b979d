using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu;

/// <summary>A reserved IOVA region reported for a device (Linux: struct iommu_resv_region, iommu_get_resv_regions()).</summary>
public sealed record ReservedRegion(ulong Start, ulong Length, IommuProt Prot, ReservedRegionType Type)
{
    public ulong End => Start + Length - 1;
    /// <summary>The "type" text of /sys/kernel/iommu_groups/N/reserved_regions (Linux: iommu_group_resv_type_string[]).</summary>
    public string SysfsType => Type switch
    {
        ReservedRegionType.Direct => "direct",
        ReservedRegionType.DirectRelaxable => "direct-relaxable",
        ReservedRegionType.Reserved => "reserved",
        ReservedRegionType.Msi => "msi",
        ReservedRegionType.SwMsi => "msi",
        _ => "unknown",
    };
    public override string ToString() => $"0x{Start:x16} 0x{End:x16} {SysfsType}";
}
