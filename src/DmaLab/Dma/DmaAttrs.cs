namespace DmaLab.Dma;

/// <summary>
/// Linux: include/linux/dma-mapping.h, the DMA_ATTR_* bits (same bit numbers, so trace "attrs=" flags and
/// recorded values compare directly).
/// </summary>
[Flags]
public enum DmaAttrs : ulong
{
    None = 0,
    WeakOrdering = 1UL << 1,
    WriteCombine = 1UL << 2,
    NoKernelMapping = 1UL << 4,
    SkipCpuSync = 1UL << 5,
    ForceContiguous = 1UL << 6,
    AllocSinglePages = 1UL << 7,
    NoWarn = 1UL << 8,
    Privileged = 1UL << 9,
    /// <summary>DMA_ATTR_MMIO (Linux 6.18+): the address is MMIO, never bounced (dma-direct returns an error instead).</summary>
    Mmio = 1UL << 10,
    // Attributes that trace lines print by name only (decode_dma_attrs()); the model does not act on them.
    /// <summary>DMA_ATTR_DEBUGGING_IGNORE_CACHELINES, printed "CACHELINES_OVERLAP": dma-debug skips its
    /// overlapping-cacheline check. Bit chosen by us (the kernel's value is not printed).</summary>
    CachelinesOverlap = 1UL << 11,
    /// <summary>DMA_ATTR_REQUIRE_COHERENT (bit chosen by us; only the name appears in traces).</summary>
    RequireCoherent = 1UL << 12,
    /// <summary>DMA_ATTR_CC_SHARED (bit chosen by us).</summary>
    CcShared = 1UL << 13,
    /// <summary>__DMA_ATTR_ALLOC_CC_SHARED (bit chosen by us).</summary>
    AllocCcShared = 1UL << 14,
    /// <summary>DMA_ATTR_CPU_CACHE_CLEAN (proposed; dma-debug skips the overlap check). Bit chosen by us.</summary>
    CpuCacheClean = 1UL << 15,
}
