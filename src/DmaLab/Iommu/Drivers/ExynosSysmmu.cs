using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// Samsung Exynos System MMU (Linux: drivers/iommu/exynos-iommu.c): 1M sections, 64K large and 4K small pages
/// in a two-level 32-bit table; one page-table base per sysmmu (one master each), one group per master
/// (generic_device_group); unmap invalidates the TLB entry at once (sysmmu_tlb_invalidate_entry()); the ISR
/// calls report_iommu_fault() with the read/write direction of the fault.
/// </summary>
public sealed class ExynosSysmmu(IommuDevice instance, IommuDriverContext context) : SocIommuBase(instance, context, Traits)
{
    /// <summary>SECT_SIZE|LPAGE_SIZE|SPAGE_SIZE; TLB: Exynos4412 SYSMMU v3.3 has a 64-entry TLB (approximate, 4-way).</summary>
    public static new readonly SocIommuTraits Traits = new("exynos-sysmmu", IoPgtableFormat.Exynos,
        new DriverLimits(0x0011_1000, 32, 32, 1, new IotlbGeometry(64, 4, IotlbReplacement.Lru, 0, "Exynos SYSMMU v3 TLB 64 entries; associativity approximated"),
            "exynos-iommu.c exynos_iommu_ops.pgsize_bitmap"),
        SocContextModel.SingleReplace, SocGroupModel.Generic, InvalidateOnUnmap: true, ReportsFaults: true);
}
