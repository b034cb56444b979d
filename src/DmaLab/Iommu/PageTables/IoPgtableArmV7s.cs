using DmaLab.Mm;

namespace DmaLab.Iommu.PageTables;

/// <summary>
/// ARMv7 short-descriptor tables (Linux: drivers/iommu/io-pgtable-arm-v7s.c, arm_v7s_alloc_pgtable()), also used by
/// the Qualcomm MSM IOMMU (Linux: msm_iommu.c msm_iommu_domain_config(): ias = oas = 32, 4K|64K|1M|16M, no quirks
/// since IO_PGTABLE_QUIRK_TLBI_ON_MAP became iotlb_sync_map in the driver). 32-bit input and output only (the
/// MediaTek extended-address quirk is not modelled). Registers: "TTBR" (table address | S, plus NOS/IRGN/ORGN
/// write-back when the walk is coherent), "TCR" = 0, "PRRR" and "NMRR" (TEX-remap as the kernel programs them).
/// </summary>
public sealed class IoPgtableArmV7s : IoPgtableRadix<ArmV7sPte>
{
    public const uint TtbrS = 1u << 1, TtbrNos = 1u << 5;
    /// <summary>PRRR: TR1 device, TR4/TR7 normal, DS0, DS1, NS1, NOS7 (Linux: arm_v7s_alloc_pgtable()).</summary>
    public const uint Prrr = 1u << 2 | 2u << 8 | 2u << 14 | 1u << 16 | 1u << 17 | 1u << 19 | 1u << 31;
    /// <summary>NMRR: index 7 inner and outer write-back write-allocate.</summary>
    public const uint Nmrr = 1u << 14 | 1u << 30;

    public IoPgtableArmV7s(IoPgtableFormat format, IoPgtableConfig config, PhysicalMemory memory, IPageAllocator pages)
        : base(format, config, memory, pages, Negotiate(format, config))
    {
        ulong wbwa = config.CoherentWalk ? TtbrNos | 1u << 6 | 1u << 3 : 0;   // IRGN=WBWA is split over bits 6 and 0
        config.Registers["TTBR"] = Root.Value | TtbrS | wbwa;
        config.Registers["TCR"] = 0;
        config.Registers["PRRR"] = Prrr;
        config.Registers["NMRR"] = Nmrr;
    }

    static ArmV7sPte Negotiate(IoPgtableFormat format, IoPgtableConfig config)
    {
        if (format != IoPgtableFormat.ArmV7s && format != IoPgtableFormat.Msm)
            throw new ArgumentException($"{format} is not a short-descriptor format");
        if (config.Ias > 32 || config.Oas > 32)
            throw new ArgumentException($"{format}: short descriptors take at most 32-bit input and output (ias={config.Ias}, oas={config.Oas})");
        config.PgsizeBitmap &= 1UL << 12 | 1UL << 16 | 1UL << 20 | 1UL << 24;
        // Linux: arm_v7s_alloc_table() allocates every level with ARM_V7S_TABLE_GFP_DMA (GFP_DMA32 where
        // CONFIG_ZONE_DMA32 exists, GFP_DMA on 32-bit arm; the L2 kmem cache is SLAB_CACHE_DMA32/SLAB_CACHE_DMA):
        // the 32-bit walker must reach its tables. Where the kernel lacks the zone the page allocator maps the flag
        // to ZONE_NORMAL, as gfp_zone() does.
        config.TableGfp |= Gfp.Dma32;
        return new ArmV7sPte((config.Quirks & IoPgtableQuirks.NoPerms) == 0, (config.Quirks & IoPgtableQuirks.ArmNs) != 0);
    }
}
