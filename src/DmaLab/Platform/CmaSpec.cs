namespace DmaLab.Platform;

/// <summary>The default CMA area when no reserved-memory node declares one (Linux: cma= / CONFIG_CMA_SIZE_MBYTES).</summary>
public sealed class CmaSpec
{
    /// <summary>Size of the default area; 0 = no default CMA.</summary>
    public ulong DefaultSize { get; set; } = 64UL << 20;
    /// <summary>Linux: cma_declare_contiguous order_per_bit (0 for dma-contiguous).</summary>
    public int OrderPerBit { get; set; }
    /// <summary>Upper limit of the default area (arm64 places it below the DMA zone limit); 0 = the zone limit.</summary>
    public ulong Limit { get; set; }
}
