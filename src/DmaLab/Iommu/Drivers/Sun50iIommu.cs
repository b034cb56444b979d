using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// Allwinner H6 IOMMU (Linux: drivers/iommu/sun50i-iommu.c). APPROXIMATED: its table (4096 DTEs of 1 MiB, 256 PTEs
/// of 4 KiB) has the geometry of the ARMv7 short-descriptor format, which the model uses in its place, so the
/// descriptor bits differ from the H6's. pgsize SZ_4K, one domain per instance, one group per instance, range
/// invalidation on iotlb_sync, faults passed to report_iommu_fault().
/// </summary>
public sealed class Sun50iIommu(IommuDevice instance, IommuDriverContext context) : SocIommuBase(instance, context, Traits)
{
    public static new readonly SocIommuTraits Traits = new("sun50i-iommu", IoPgtableFormat.ArmV7s,
        new DriverLimits(0x1000, 32, 32, 1, new IotlbGeometry(64, 4, IotlbReplacement.Lru, 0, "H6 user manual: micro TLBs per master + 64-entry macro TLB (approximate associativity)"),
            "sun50i-iommu.c pgsize_bitmap SZ_4K"),
        SocContextModel.SingleReplace, SocGroupModel.PerInstance, InvalidateOnUnmap: false, ReportsFaults: true,
        TableGfp: Mm.Gfp.Dma32);   // sun50i_iommu_domain_alloc()/sun50i_dte_get_page_table(): DT and PTs from GFP_DMA32
}
