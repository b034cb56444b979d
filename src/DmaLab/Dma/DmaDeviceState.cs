using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>
/// What the DMA layer keeps per device beside <see cref="Devices.Device"/>'s own fields (Linux: dev->dma_range_map,
/// dev->cma_area, dev->dma_mem, dev->dma_skip_sync).
/// </summary>
public sealed class DmaDeviceState
{
    /// <summary>dev->dma_range_map; null = bus addresses equal physical addresses.</summary>
    public DmaRangeMap? RangeMap { get; set; }
    /// <summary>dev->cma_area: a per-device CMA area (memory-region to a reusable shared-dma-pool), else null.</summary>
    public CmaArea? CmaArea { get; set; }
    /// <summary>dev->dma_mem: per-device coherent memory (a no-map shared-dma-pool / dma_declare_coherent_memory).</summary>
    public DmaCoherentMemory? CoherentMemory { get; set; }
    /// <summary>dev->dma_skip_sync: syncs are no-ops (coherent device that never bounced); cleared by a bounce.</summary>
    public bool SkipSync { get; set; }
}
