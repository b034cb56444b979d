using System.Runtime.CompilerServices;
using System.Text;

namespace DmaLab.Mm;

/// <summary>
/// GFP → zone rules (Linux: include/linux/gfp.h, gfp_zone() and GFP_ZONE_TABLE; mm/page_alloc.c,
/// gfp_to_alloc_flags_cma()) and the kernel's textual rendering of a gfp mask for warnings (%pGg).
/// </summary>
public static class GfpZones
{
    /// <summary>
    /// The highest zone an allocation may use. __GFP_DMA → DMA, __GFP_DMA32 → DMA32, otherwise NORMAL
    /// (__GFP_MOVABLE would select ZONE_MOVABLE, which is empty unless kernelcore=/movablecore= is given, so
    /// the zonelist walk starts at NORMAL). __GFP_DMA together with __GFP_DMA32 is GFP_ZONE_BAD: a caller bug.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ZoneType HighestZone(Gfp gfp)
    {
        var z = gfp & (Gfp.Dma | Gfp.Dma32);
        if (z == 0) return ZoneType.Normal;
        if (z == Gfp.Dma) return ZoneType.Dma;
        if (z == Gfp.Dma32) return ZoneType.Dma32;
        throw new ArgumentException("GFP_DMA | GFP_DMA32 is an invalid zone combination (GFP_ZONE_BAD)", nameof(gfp));
    }

    /// <summary>Whether the allocation may take free pages from MIGRATE_CMA pageblocks (ALLOC_CMA: movable allocations only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MayUseCma(Gfp gfp) => (gfp & Gfp.Movable) != 0;

    // Kernel bit values (include/linux/gfp_types.h) used to print the mask as the kernel would.
    const uint KGfpDma = 0x01, KGfpDma32 = 0x04, KGfpMovable = 0x08, KGfpZero = 0x100, KGfpNoWarn = 0x2000;
    const uint KGfpKernel = 0xcc0;   // __GFP_RECLAIM | __GFP_IO | __GFP_FS
    const uint KGfpAtomic = 0x820;   // __GFP_HIGH | __GFP_KSWAPD_RECLAIM

    /// <summary>
    /// The mask as the kernel would print it in "mode:%#x(%pGg)". Our <see cref="Gfp"/> carries only the bits the
    /// model acts on, so a mask with <see cref="Gfp.DirectReclaim"/> is rendered as GFP_KERNEL and one without as
    /// GFP_ATOMIC, the two base masks drivers use.
    /// </summary>
    public static string FormatMode(Gfp gfp)
    {
        bool sleeps = (gfp & Gfp.DirectReclaim) != 0;
        uint bits = sleeps ? KGfpKernel : KGfpAtomic;
        var names = new StringBuilder(sleeps ? "GFP_KERNEL" : "GFP_ATOMIC");
        void Add(Gfp f, uint k, string name)
        {
            if ((gfp & f) == 0) return;
            bits |= k;
            names.Append('|').Append(name);
        }
        Add(Gfp.Dma, KGfpDma, "GFP_DMA");
        Add(Gfp.Dma32, KGfpDma32, "GFP_DMA32");
        Add(Gfp.Movable, KGfpMovable, "__GFP_MOVABLE");
        Add(Gfp.Zero, KGfpZero, "__GFP_ZERO");
        Add(Gfp.NoWarn, KGfpNoWarn, "__GFP_NOWARN");
        return $"0x{bits:x}({names})";
    }
}
