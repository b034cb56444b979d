namespace DmaLab.DmaIommu;

/// <summary>Counters of a <see cref="FlushQueue"/> (lazy invalidation cost and exposure).</summary>
public struct FlushQueueStats
{
    /// <summary>Whole-IOTLB invalidations issued (fq_flush_iotlb), for any reason.</summary>
    public long Flushes;
    /// <summary>Invalidations issued by the timer (fq_flush_timeout).</summary>
    public long TimerFlushes;
    /// <summary>Invalidations forced because a queue was full when an IOVA was queued.</summary>
    public long FullQueueFlushes;
    /// <summary>IOVAs queued (queue_iova).</summary>
    public long Queued;
    /// <summary>IOVAs handed back to the allocator after their invalidation.</summary>
    public long Released;
    /// <summary>Highest number of entries seen in one ring.</summary>
    public int MaxQueued;
    /// <summary>IOVAs queued and not yet released.</summary>
    public long IovasHeld;
    /// <summary>Granules (pages) of IOVA space held by the queues now.</summary>
    public long PagesHeld;
    /// <summary>Freed page-table pages waiting for an invalidation before they can be reused.</summary>
    public long TablePagesHeld;
    /// <summary>Sum over released IOVAs of (invalidation time - unmap time): the stale-translation window, ns.</summary>
    public ulong StaleNsTotal;
    /// <summary>Longest stale-translation window seen, ns.</summary>
    public ulong StaleNsMax;
    /// <summary>Sum over released IOVAs of pages x stale ns (exposure in page-ns).</summary>
    public double StalePageNs;
}
