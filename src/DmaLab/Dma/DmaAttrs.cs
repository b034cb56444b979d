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
}
