using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// NVIDIA Tegra memory-controller SMMU (Linux: drivers/iommu/tegra-smmu.c): a 4 MiB-per-entry page directory
/// with 4K page tables, only 4 KiB pages through the IOMMU API; a fixed number of ASIDs (tegra_smmu_alloc_asid()
/// → -ENOSPC); masters of the same swgroup share a group; the TLB is flushed with SMMU_TLB_FLUSH writes as PTEs
/// change; faults are reported by the memory controller driver, not through report_iommu_fault().
/// </summary>
public sealed class TegraSmmu(IommuDevice instance, IommuDriverContext context) : SocIommuBase(instance, context, Traits)
{
    /// <summary>pgsize_bitmap SZ_4K; Tegra210: num_asids 128, num_tlb_lines 48 (drivers/memory/tegra/tegra210.c) — modelled as 64 entries 4-way.</summary>
    public static new readonly SocIommuTraits Traits = new("tegra-smmu", IoPgtableFormat.Tegra,
        new DriverLimits(0x1000, 32, 34, 128, new IotlbGeometry(64, 4, IotlbReplacement.Lru, 0, "tegra210 num_tlb_lines 48; modelled as 64 entries 4-way"),
            "tegra-smmu.c pgsize_bitmap SZ_4K; tegra210.c num_asids 128"),
        SocContextModel.Pool, SocGroupModel.SharedIds, InvalidateOnUnmap: true, ReportsFaults: false);
}
