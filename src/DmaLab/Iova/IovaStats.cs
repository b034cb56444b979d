namespace DmaLab.Iova;

/// <summary>Counters kept by an <see cref="IovaDomain"/> for reports (rcache hit rate, tree traffic, failures).</summary>
public struct IovaStats
{
    /// <summary>alloc_iova_fast calls served by a per-CPU magazine or the depot.</summary>
    public long RcacheHits;
    /// <summary>alloc_iova_fast calls that had to search the tree (including sizes too large to cache).</summary>
    public long RcacheMisses;
    /// <summary>Ranges inserted by the top-down tree search (__alloc_and_insert_iova_range).</summary>
    public long TreeAllocs;
    /// <summary>Tree searches that found no space (-ENOMEM from __alloc_and_insert_iova_range).</summary>
    public long TreeAllocFailures;
    /// <summary>alloc_iova_fast calls that returned 0 (after the flush-and-retry when it was allowed).</summary>
    public long FastAllocFailures;
    /// <summary>Times alloc_iova_fast flushed every CPU's rcache and the depots to retry.</summary>
    public long RcacheFlushRetries;
    /// <summary>free_iova_fast calls absorbed by a magazine.</summary>
    public long RcacheInserts;
    /// <summary>Ranges erased from the tree (free_iova, magazine flushes, depot trims).</summary>
    public long TreeFrees;
    /// <summary>Full magazines pushed to a depot.</summary>
    public long DepotPushes;
    /// <summary>Magazines the delayed depot work gave back to the tree.</summary>
    public long DepotTrims;
    /// <summary>Tree nodes stepped over by the backward search (rb_prev steps), a cost proxy.</summary>
    public long SearchSteps;
    /// <summary>Allocations that took a given range instead of their own answer (<see cref="IovaDomain.TakeExact"/>).</summary>
    public long TakenExact;

    public readonly double RcacheHitRate => RcacheHits + RcacheMisses == 0 ? 0 : (double)RcacheHits / (RcacheHits + RcacheMisses);
}
