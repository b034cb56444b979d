namespace DmaLab.Platform;

/// <summary>The default swiotlb pool (Linux: kernel/dma/swiotlb.c, swiotlb= command line).</summary>
public sealed class SwiotlbSpec
{
    /// <summary>Pool size (Linux default IO_TLB_DEFAULT_SIZE = 64 MiB).</summary>
    public ulong Size { get; set; } = 64UL << 20;
    /// <summary>"auto" (allocate, bounce when needed), "force" (swiotlb=force: bounce everything), "noforce" (no pool).</summary>
    public string Mode { get; set; } = "auto";
    /// <summary>Areas; 0 = one per CPU rounded up to a power of two, as the kernel does.</summary>
    public int Areas { get; set; }
    /// <summary>Allocate the pool from CMA (seed 004) instead of memblock.</summary>
    public bool FromCma { get; set; }
    /// <summary>Fixed base (for replaying a trace whose pool address is known); null = allocated at boot.</summary>
    public ulong? Base { get; set; }
}
