namespace DmaLab.Replay;

/// <summary>
/// What a model-backed replay cost on the modelled machine: IOVA allocator, IOTLB, invalidations, bounce traffic and
/// an estimated time from the platform's <see cref="Sim.CostModel"/>. <see cref="Measured"/> says whether the figures
/// were measured on a booted machine (what-if) or, for the IOTLB, estimated (the traced model). One per model run; a what-if
/// report puts the original's next to the alternative's.
/// </summary>
public sealed class ReplayModelStats
{
    public string Policy { get; set; } = "";
    /// <summary>True when the figures were measured on a booted <see cref="Machine"/> (a what-if: device accesses
    /// translated by the IOMMU model, invalidations issued by its driver); false for the traced model, whose IOTLB
    /// figures are estimated (<see cref="ReplayIotlbEstimate"/>) and whose invalidations and time are counted from
    /// the calls by the cost model.</summary>
    public bool Measured { get; set; }
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
    /// <summary>IOTLB invalidations. Traced model: counted from the calls, one range invalidation + sync per strict
    /// unmap, one whole-IOTLB flush per flush-queue flush in lazy mode. Measured what-if: the invalidation operations
    /// the IOMMU's IOTLB performed (any scope), as the driver's commands asked.</summary>
    public long Invalidations { get; set; }
    /// <summary>Invalidation commands (or register writes) the IOMMU driver issued, completion waits included
    /// (measured what-ifs only; 0 otherwise).</summary>
    public long InvalidationCommands { get; set; }
    public long FlushQueueFlushes { get; set; }
    public long FlushQueueTimerFlushes { get; set; }
    /// <summary>IOTLB misses. Measured (a what-if, <see cref="Measured"/>): the translation unit's own count. Else
    /// estimated: the device touches every page of a mapping once after it is made (at most
    /// <see cref="ReplayIotlbEstimate.MaxPagesTouched"/> pages), through a direct-mapped IOTLB of
    /// <see cref="ReplayIotlbEstimate.Entries"/> entries that invalidations clear.</summary>
    public long IotlbMisses { get; set; }
    public long IotlbHits { get; set; }
    // Measured what-ifs only (see Measured): the device side.
    /// <summary>IOTLB lookups by device accesses.</summary>
    public long IotlbLookups { get; set; }
    /// <summary>Page-table walks of the translation unit (IOTLB misses that reached the tables).</summary>
    public long PageWalks { get; set; }
    /// <summary>Device accesses made (one per page and direction, see <see cref="MachineWhatIfModel"/>) and those the
    /// IOMMU aborted.</summary>
    public long DeviceAccesses { get; set; }
    public long DeviceAccessFaults { get; set; }
    /// <summary>What-if only: calls larger than the machine's managed RAM, not run (a map of them failed).</summary>
    public long CallsBeyondDram { get; set; }
    /// <summary>IOMMU faults recorded by the core during the run.</summary>
    public long IommuFaults { get; set; }
    /// <summary>Device accesses translated through a stale IOTLB entry (unmapped, not yet invalidated), their bytes,
    /// and the longest time between such an unmap and a hit through it (virtual ns).</summary>
    public long StaleHits { get; set; }
    public ulong StaleHitBytes { get; set; }
    public ulong StaleHitWindowMaxNs { get; set; }
    /// <summary>Longest flush-queue wait of an unmapped IOVA before its invalidation (lazy domains), virtual ns.</summary>
    public ulong StaleWindowMaxNs { get; set; }
    /// <summary>What the what-if machine's kernel would have said (iommu-dma, swiotlb, dma-direct WARNs and IOMMU
    /// faults), counted by kind; empty for the traced model, whose findings are the replay's own.</summary>
    public SortedDictionary<string, int> FindingKinds { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Deepest IOVA rbtree of any domain at the end.</summary>
    public int IovaTreeDepth { get; set; }
    // swiotlb (Linux: kernel/dma/swiotlb.c).
    public long Bounces { get; set; }
    /// <summary>Bytes copied to and from bounce slots (swiotlb's own counters).</summary>
    public ulong BounceBytes { get; set; }
    /// <summary>Bytes of the mappings that were served from bounce slots (measured what-ifs only).</summary>
    public ulong BouncedMappingBytes { get; set; }
    public ulong SwiotlbUsedHiwaterBytes { get; set; }
    public long SwiotlbFull { get; set; }
    /// <summary>Estimated CPU/IOMMU time of the DMA-API work in virtual ns (see <see cref="EstimatedNsBreakdown"/>).</summary>
    public ulong EstimatedNs { get; set; }
    public SortedDictionary<string, ulong> EstimatedNsBreakdown { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Adds one iommu-dma IOVA allocator's figures (and its flush queue's, for a lazy domain); call
    /// <see cref="FinishIova"/> after the last one.</summary>
    public void AddIova(DmaLab.DmaIommu.IommuDmaIovaAllocator alloc)
    {
        var st = alloc.Iovad.Stats;
        IovaRcacheHits += st.RcacheHits;
        IovaRcacheMisses += st.RcacheMisses;
        IovaTreeAllocs += st.TreeAllocs;
        IovaTreeFrees += st.TreeFrees;
        IovaSearchSteps += st.SearchSteps;
        IovaAllocFailures += alloc.AllocFailures;
        if (alloc.Fq is { } fq)
        {
            FlushQueueFlushes += fq.Stats.Flushes;
            FlushQueueTimerFlushes += fq.Stats.TimerFlushes;
            StaleWindowMaxNs = Math.Max(StaleWindowMaxNs, fq.Stats.StaleNsMax);
        }
    }

    /// <summary>Allocations and the rcache hit rate from the summed hits and misses.</summary>
    public void FinishIova()
    {
        IovaAllocs = IovaRcacheHits + IovaRcacheMisses;
        IovaRcacheHitRate = IovaAllocs == 0 ? 0 : (double)IovaRcacheHits / IovaAllocs;
    }
}
