using DmaLab.Iommu.Hardware;

namespace DmaLab;

/// <summary>
/// Counters of a <see cref="Machine"/> at one moment: IOTLB hits / misses / invalidations and page walks summed over
/// IOMMU instances, IOMMU faults, IOVA allocator figures summed over iommu-dma domains (rcache hits and misses, tree
/// depth = the deepest domain's), swiotlb bounce bytes, flush-queue activity and the stale-translation window of lazy
/// domains with the stale-translation hits the translation units saw in it, and the virtual time.
/// </summary>
public sealed record MachineStats(
    ulong VirtualTimeNs,
    long IotlbLookups, long IotlbHits, long IotlbMisses, long IotlbInvalidationOps, long IotlbEntriesInvalidated,
    long Translations, long PageWalks, long IommuFaults,
    int DmaDomains, long IovaRcacheHits, long IovaRcacheMisses, int IovaTreeDepth, int IovaLiveRanges,
    ulong BounceBytesToDevice, ulong BounceBytesFromDevice,
    long StrictSyncs, long QueuedUnmaps, long FqFlushes, long FqTimerFlushes, long FqFullFlushes, long FqIovasHeld,
    ulong FqStaleNsMax, ulong FqStaleNsTotal,
    long StaleHits = 0, ulong StaleHitBytes = 0, ulong StaleHitWindowMaxNs = 0)
{
    /// <summary>IOTLB hit rate over all lookups (0 when there were none).</summary>
    public double IotlbHitRate => IotlbLookups == 0 ? 0 : (double)IotlbHits / IotlbLookups;
    /// <summary>IOVA range-cache hit rate (alloc_iova_fast served from a magazine or the depot).</summary>
    public double IovaRcacheHitRate => IovaRcacheHits + IovaRcacheMisses == 0 ? 0 : (double)IovaRcacheHits / (IovaRcacheHits + IovaRcacheMisses);

    internal static MachineStats Collect(Machine m)
    {
        IotlbStats t = default;
        long translations = 0, walks = 0, staleHits = 0;
        ulong staleBytes = 0, staleWindow = 0;
        foreach (var inst in m.Iommu.Instances)
        {
            var s = inst.Hardware.Iotlb.Stats;
            t.Lookups += s.Lookups; t.Hits += s.Hits; t.Misses += s.Misses;
            t.InvalidationOps += s.InvalidationOps; t.EntriesInvalidated += s.EntriesInvalidated;
            translations += inst.Hardware.Translations;
            walks += inst.Hardware.Walks;
            var st = inst.Hardware.Stale;
            staleHits += st.Hits; staleBytes += st.Bytes; staleWindow = Math.Max(staleWindow, st.WindowMaxNs);
        }
        int domains = 0, depth = 0, live = 0;
        long rh = 0, rm = 0, strict = 0, queued = 0, fl = 0, tf = 0, ff = 0, held = 0;
        ulong staleMax = 0, staleTotal = 0;
        foreach (var c in m.IommuDma.Cookies)
        {
            domains++;
            var iovad = c.Allocator.Iovad;
            rh += iovad.Stats.RcacheHits; rm += iovad.Stats.RcacheMisses;
            depth = Math.Max(depth, iovad.TreeDepth());
            live += iovad.RangeCount;
            strict += c.StrictSyncs; queued += c.QueuedUnmaps;
            if (c.Fq is { } fq)
            {
                fl += fq.Stats.Flushes; tf += fq.Stats.TimerFlushes; ff += fq.Stats.FullQueueFlushes; held += fq.Stats.IovasHeld;
                staleMax = Math.Max(staleMax, fq.Stats.StaleNsMax); staleTotal += fq.Stats.StaleNsTotal;
            }
        }
        var pool = m.DmaSystem.Swiotlb;
        return new MachineStats(m.Clock.NowNs, t.Lookups, t.Hits, t.Misses, t.InvalidationOps, t.EntriesInvalidated,
            translations, walks, m.Iommu.Core.Faults.Count, domains, rh, rm, depth, live,
            pool?.Stats.BouncedBytesToDevice ?? 0, pool?.Stats.BouncedBytesFromDevice ?? 0,
            strict, queued, fl, tf, ff, held, staleMax, staleTotal, staleHits, staleBytes, staleWindow);
    }
}
