namespace DmaLab.Mm;

/// <summary>Allocation flags (Linux: include/linux/gfp_types.h). Only the bits the model acts on.</summary>
[Flags]
public enum Gfp : uint
{
    None = 0,
    /// <summary>__GFP_DMA: allocate from ZONE_DMA.</summary>
    Dma = 1 << 0,
    /// <summary>__GFP_DMA32: allocate from ZONE_DMA32 (or lower).</summary>
    Dma32 = 1 << 2,
    /// <summary>__GFP_MOVABLE: the page may be migrated, so it may be placed in CMA.</summary>
    Movable = 1 << 3,
    /// <summary>__GFP_DIRECT_RECLAIM: the caller may sleep (not set in atomic context).</summary>
    DirectReclaim = 1 << 10,
    /// <summary>__GFP_NOWARN: do not report an allocation failure.</summary>
    NoWarn = 1 << 13,
    /// <summary>__GFP_ZERO: return zeroed memory.</summary>
    Zero = 1 << 8,
    /// <summary>GFP_KERNEL: normal, may sleep.</summary>
    Kernel = DirectReclaim,
    /// <summary>GFP_ATOMIC: may not sleep.</summary>
    Atomic = 0,
}
