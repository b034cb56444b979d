namespace DmaLab.Trace;

/// <summary>
/// What a model-backed replay cost on the modelled machine: IOVA allocator, IOTLB (estimate), invalidations, bounce
/// traffic and an estimated time from the platform's <see cref="Sim.CostModel"/>. One per model run; a what-if
/// report puts the original's next to the alternative's.
/// </summary>
public sealed class ReplayModelStats
{
    public string Policy { get; set; } = "";
    /// <summary>IOMMU family the translated devices sat behind ("none" without one).</summary>
    public string Iommu { get; set; } = "none";
    /// <summary>Devices by DMA path ("dma-direct", "swiotlb", "iommu-dma").</summary>
    public SortedDictionary<string, int> DevicePaths { get; set; } = new(StringComparer.Ordinal);
    public long Maps { get; set; }
    public long Unmaps { get; set; }
    public long MapFailures { get; set; }
    // IOVA allocator (Linux: drivers/iommu/iova.c), summed over every DMA domain.
    public long IovaAllocs { get; set; }
    public long IovaRcacheHits { get; set; }
    public long IovaRcacheMisses { get; set; }
    public long IovaTreeAllocs { get; set; }
    public long IovaTreeFrees { get; set; }
    public long IovaAllocFailures { get; set; }
    public double IovaRcacheHitRate { get; set; }
    public long IovaSearchSteps { get; set; }
    /// <summary>Page-table entries written (map) and cleared (unmap), counted in IOMMU granules.</summary>
    public long PtePagesMapped { get; set; }
    public long PtePagesUnmapped { get; set; }
    /// <summary>IOTLB invalidations: one range invalidation + sync per strict unmap; one whole-IOTLB flush per
    /// flush-queue flush in lazy mode.</summary>
    public long Invalidations { get; set; }
    public long FlushQueueFlushes { get; set; }
    public long FlushQueueTimerFlushes { get; set; }
    /// <summary>IOTLB misses, estimated: the device touches every page of a mapping once after it is made (at most
    /// <see cref="ReplayIotlbEstimate.MaxPagesTouched"/> pages), through a direct-mapped IOTLB of
    /// <see cref="ReplayIotlbEstimate.Entries"/> entries that invalidations clear.</summary>
    public long IotlbMisses { get; set; }
    public long IotlbHits { get; set; }
    // swiotlb (Linux: kernel/dma/swiotlb.c).
    public long Bounces { get; set; }
    public ulong BounceBytes { get; set; }
    public ulong SwiotlbUsedHiwaterBytes { get; set; }
    public long SwiotlbFull { get; set; }
    /// <summary>Estimated CPU/IOMMU time of the DMA-API work in virtual ns (see <see cref="EstimatedNsBreakdown"/>).</summary>
    public ulong EstimatedNs { get; set; }
    public SortedDictionary<string, ulong> EstimatedNsBreakdown { get; set; } = new(StringComparer.Ordinal);
}
