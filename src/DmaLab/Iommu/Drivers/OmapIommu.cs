using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// TI OMAP IOMMU (Linux: drivers/iommu/omap-iommu.c). Two-level tables of 4K/64K/1M/16M pages, 32-bit IOVA and
/// PA; one context (TTB register) per instance, so attaching a second domain while one is in use is -EBUSY;
/// every master of an instance shares its group; TLB entries are flushed inside map/unmap (iopgtable_clear_entry()
/// → flush_iotlb_page()); the fault ISR calls report_iommu_fault() with flags 0.
/// </summary>
public sealed class OmapIommu(IommuDevice instance, IommuDriverContext context) : SocIommuBase(instance, context, Traits)
{
    /// <summary>OMAP_IOMMU_PGSIZES = 4K|64K|1M|16M; 32 TLB entries ("ti,#tlb-entries" default 32 in omap_iommu_probe()), fully associative, round-robin victim (LRU here).</summary>
    public static new readonly SocIommuTraits Traits = new("omap-iommu", IoPgtableFormat.Omap,
        new DriverLimits(0x0111_1000, 32, 32, 1, new IotlbGeometry(32, 32, IotlbReplacement.Lru, 0, "omap-iommu.c nr_tlb_entries default 32; OMAP4 TRM MMU: 32-entry fully associative TLB"),
            "omap-iommu.h OMAP_IOMMU_PGSIZES; omap-iopgtable.h"),
        SocContextModel.SingleExclusive, SocGroupModel.PerInstance, InvalidateOnUnmap: true, ReportsFaults: true, FaultFlagsZero: true);
}
