namespace DmaLab.Iommu.Hardware;

/// <summary>Counters of one cache (IOTLB or walk cache).</summary>
public struct IotlbStats
{
    public long Lookups;
    public long Hits;
    public long Misses;
    public long Fills;
    /// <summary>Valid entries displaced by a fill.</summary>
    public long Evictions;
    /// <summary>Invalidation operations received (any scope).</summary>
    public long InvalidationOps;
    /// <summary>Valid entries removed by invalidations.</summary>
    public long EntriesInvalidated;
}
