using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// Rockchip IOMMU (Linux: drivers/iommu/rockchip-iommu.c): a two-level table (1024 DTEs of 4 MiB, 1024 PTEs of
/// 4 KiB); RK_IOMMU_PGSIZE_BITMAP advertises 4K..4M so the core maps in chunks, the table holds 4 KiB pages. One
/// DTE base per instance (attaching another domain replaces the current one), all masters share the instance's
/// group, unmap zaps the IOVA at once (rk_iommu_zap_iova()), and the IRQ handler calls report_iommu_fault().
/// </summary>
public sealed class RockchipIommu(IommuDevice instance, IommuDriverContext context) : SocIommuBase(instance, context, Traits)
{
    /// <summary>RK_IOMMU_PGSIZE_BITMAP 0x007ff000; TLB size unpublished — 32 entries 4-way, an approximation.</summary>
    public static new readonly SocIommuTraits Traits = new("rk_iommu", IoPgtableFormat.Rockchip,
        new DriverLimits(0x007f_f000, 32, 32, 1, new IotlbGeometry(32, 4, IotlbReplacement.Lru, 0, "approximation"),
            "rockchip-iommu.c RK_IOMMU_PGSIZE_BITMAP"),
        SocContextModel.SingleReplace, SocGroupModel.PerInstance, InvalidateOnUnmap: true, ReportsFaults: true);
}
