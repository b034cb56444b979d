using DmaLab.Mm;

namespace DmaLab.Iommu.PageTables;

/// <summary>
/// ARM LPAE (VMSAv8-64) stage-1 and stage-2 tables with 4K/16K/64K granules (Linux: drivers/iommu/io-pgtable-arm.c,
/// arm_64_lpae_alloc_pgtable_s1()/_s2()). Negotiation follows arm_lpae_restrict_pgsizes(): the granule is the
/// CPU page size (4K) when offered, else the largest sub-4K... else the smallest size offered; the bitmap is cut
/// to the granule's page and block sizes. Registers: stage 1 "TTBR0", "TCR" (TCR_EL1 layout: T0SZ[5:0],
/// IRGN0[9:8], ORGN0[11:10], SH0[13:12], TG0[15:14], EPD1[23], IPS[34:32]) and "MAIR"; stage 2 "VTTBR" and
/// "VTCR" (T0SZ[5:0], SL0[7:6], IRGN0[9:8], ORGN0[11:10], SH0[13:12], TG0[15:14], PS[18:16]).
/// </summary>
public sealed class IoPgtableArmLpae : IoPgtableRadix<ArmLpaePte>
{
    /// <summary>Linux: ARM_LPAE_S2_MAX_CONCAT_PAGES.</summary>
    const int S2MaxConcatTables = 16;
    /// <summary>Linux: MAIR value of arm_64_lpae_alloc_pgtable_s1(): idx0 NC (0x44), idx1 WBRWA (0xff), idx2 device nGnRE (0x04), idx3 inner-NC outer-WB (0xf4).</summary>
    public const ulong Mair = 0x44UL | 0xffUL << 8 | 0x04UL << 16 | 0xf4UL << 24;

    public IoPgtableArmLpae(bool stage2, IoPgtableConfig config, PhysicalMemory memory, IPageAllocator pages)
        : base(stage2 ? IoPgtableFormat.ArmLpaeS2 : IoPgtableFormat.ArmLpaeS1, config, memory, pages, Negotiate(stage2, config))
    {
        int g = GranuleShift(config.PgsizeBitmap);
        ulong tg = g switch { 12 => 0UL, 16 => 1UL, _ => 2UL };
        ulong sh = config.CoherentWalk ? 3UL : 2UL, rgn = config.CoherentWalk ? 1UL : 0UL;
        ulong tsz = (ulong)(64 - config.Ias);
        ulong ps = PaSizeEncoding(config.Oas);
        if (!stage2)
        {
            config.Registers["TTBR0"] = Root.Value;
            config.Registers["TCR"] = tsz | rgn << 8 | rgn << 10 | sh << 12 | tg << 14 | 1UL << 23 | ps << 32;
            config.Registers["MAIR"] = Mair;
        }
        else
        {
            // SL0 names the starting level; its encoding is offset by one for the 4K granule.
            int sl = Fmt.StartLevel + (g == 12 ? 1 : 0);
            ulong sl0 = (ulong)(~sl & 3);
            config.Registers["VTTBR"] = Root.Value;
            config.Registers["VTCR"] = tsz | sl0 << 6 | rgn << 8 | rgn << 10 | sh << 12 | tg << 14 | ps << 16;
        }
    }

    static int GranuleShift(ulong bitmap)
    {
        const ulong PageSize = 1UL << 12;
        ulong granule = (bitmap & PageSize) != 0 ? PageSize
            : (bitmap & (PageSize - 1)) != 0 ? 1UL << (63 - System.Numerics.BitOperations.LeadingZeroCount(bitmap & (PageSize - 1)))
            : (bitmap & ~(PageSize - 1)) != 0 ? bitmap & ~(PageSize - 1) & (0 - (bitmap & ~(PageSize - 1)))
            : 0;
        return granule switch { 1UL << 12 => 12, 1UL << 14 => 14, 1UL << 16 => 16, _ => 0 };
    }

    static ulong PaSizeEncoding(int oas) => oas switch
    {
        32 => 0, 36 => 1, 40 => 2, 42 => 3, 44 => 4, 48 => 5,
        _ => throw new ArgumentException($"ARM LPAE: output size {oas} bits is not one of 32/36/40/42/44/48"),
    };

    static ArmLpaePte Negotiate(bool stage2, IoPgtableConfig config)
    {
        int g = GranuleShift(config.PgsizeBitmap);
        ulong sizes = g switch
        {
            12 => 1UL << 12 | 1UL << 21 | 1UL << 30,
            14 => 1UL << 14 | 1UL << 25,
            16 => 1UL << 16 | 1UL << 29,
            _ => 0,
        };
        config.PgsizeBitmap &= sizes;
        if (config.PgsizeBitmap == 0) throw new ArgumentException($"ARM LPAE: pgsize_bitmap offers no 4K, 16K or 64K granule");
        config.Ias = Math.Min(config.Ias, 48);
        config.Oas = Math.Min(config.Oas, 48);
        if (config.Ias < 25) throw new ArgumentException($"ARM LPAE: input size {config.Ias} bits is below the 25-bit minimum (T0SZ 39)");
        PaSizeEncoding(config.Oas);

        int bits = g - 3, vaBits = config.Ias - g;
        int levels = (vaBits + bits - 1) / bits;
        int pgdBits = vaBits - (levels - 1) * bits;
        // Stage 2 may start one level lower with up to 16 concatenated tables (Linux: arm_64_lpae_alloc_pgtable_s2()).
        if (stage2 && levels == 4 && (1 << pgdBits) <= S2MaxConcatTables)
        {
            levels--;
            pgdBits += bits;
        }
        var fmt = new ArmLpaePte(g, levels, pgdBits, stage2, !stage2 && (config.Quirks & IoPgtableQuirks.ArmNs) != 0);
        // A size the geometry cannot place (e.g. 1G when the table starts below level 1) is dropped too.
        for (int i = 0; i < 64; i++)
            if (((config.PgsizeBitmap >> i) & 1) != 0 && fmt.LeafLevel(1UL << i) < 0) config.PgsizeBitmap &= ~(1UL << i);
        return fmt;
    }
}
