using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Iommu.Hardware;
using DmaLab.Iova;

namespace DmaLab.Workloads;

/// <summary>
/// A snapshot of the counters a workload's metrics are differences of: IOTLB and walk activity of every IOMMU
/// instance, faults, IOVA allocator statistics and flush-queue statistics of the devices under test, swiotlb
/// bounce bytes, stale-translation hits of the translation units and the virtual clock. <see cref="Finish"/> writes the differences into a result with stable names.
/// </summary>
public readonly record struct WorkloadCounters(
    ulong NowNs, long IotlbLookups, long IotlbMisses, long Invalidations, long EntriesInvalidated, long Walks, long Faults,
    long RcacheHits, long RcacheMisses, long TreeAllocs, int TreeDepth, ulong BounceBytes,
    long FqFlushes, long FqQueued, ulong StaleNsTotal, ulong StaleNsMax, double StalePageNs, long StalePagesQueued,
    long StaleHits = 0, ulong StaleHitBytes = 0, ulong StaleHitWindowMaxNs = 0)
{
    public static WorkloadCounters Take(WorkloadContext ctx, IEnumerable<Device> devices)
    {
        long lookups = 0, misses = 0, inv = 0, invEntries = 0, walks = 0, staleHits = 0;
        ulong staleBytes = 0, staleWindow = 0;
        if (ctx.Iommu is { } core)
            foreach (var inst in core.Instances)
            {
                TranslationUnit tu = inst.Hardware;
                lookups += tu.Iotlb.Stats.Lookups; misses += tu.Iotlb.Stats.Misses;
                inv += tu.Iotlb.Stats.InvalidationOps; invEntries += tu.Iotlb.Stats.EntriesInvalidated;
                walks += tu.Walks;
                staleHits += tu.Stale.Hits; staleBytes += tu.Stale.Bytes; staleWindow = Math.Max(staleWindow, tu.Stale.WindowMaxNs);
            }
        long hits = 0, rmiss = 0, tree = 0, fqFlushes = 0, fqQueued = 0, fqPages = 0; int depth = 0;
        ulong staleTotal = 0, staleMax = 0; double stalePageNs = 0;
        var seenIovad = new HashSet<IovaDomain>(ReferenceEqualityComparer.Instance);
        var seenFq = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var d in devices)
        {
            if (ctx.IovaDomainOf(d) is { } iovad && seenIovad.Add(iovad))
            {
                hits += iovad.Stats.RcacheHits; rmiss += iovad.Stats.RcacheMisses; tree += iovad.Stats.TreeAllocs;
                depth = Math.Max(depth, iovad.TreeDepth());
            }
            if (ctx.FlushQueueOf(d) is { } fq && seenFq.Add(fq))
            {
                fqFlushes += fq.Stats.Flushes; fqQueued += fq.Stats.Queued; fqPages += fq.Stats.PagesHeld;
                staleTotal += fq.Stats.StaleNsTotal; staleMax = Math.Max(staleMax, fq.Stats.StaleNsMax); stalePageNs += fq.Stats.StalePageNs;
            }
        }
        ulong bounce = ctx.Swiotlb is { } p ? p.Stats.BouncedBytesToDevice + p.Stats.BouncedBytesFromDevice : 0;
        foreach (var d in devices)
            if (d.DmaIoTlbMem is { } own && !ReferenceEquals(own, ctx.Swiotlb))
                bounce += own.Stats.BouncedBytesToDevice + own.Stats.BouncedBytesFromDevice;
        long faults = ctx.Iommu?.Faults.Count ?? 0;
        return new WorkloadCounters(ctx.Clock.NowNs, lookups, misses, inv, invEntries, walks, faults,
            hits, rmiss, tree, depth, bounce, fqFlushes, fqQueued, staleTotal, staleMax, stalePageNs, fqPages,
            staleHits, staleBytes, staleWindow);
    }

    /// <summary>The end of a run: counters now, then the flush queues settled, then the metrics.</summary>
    public void Finish(WorkloadResult r, WorkloadContext ctx, IReadOnlyList<Device> devices, ulong bytesMoved)
    {
        var after = Take(ctx, devices);
        ctx.SettleFlushQueues(devices);
        Report(r, after, bytesMoved, Take(ctx, devices));
    }

    /// <summary>
    /// Adds the metrics every IOMMU workload reports: the differences <paramref name="after"/> − this, the IOVA tree
    /// depth at the end, and the estimated throughput of <paramref name="bytesMoved"/> over the virtual time spent.
    /// </summary>
    public void Report(WorkloadResult r, WorkloadCounters after, ulong bytesMoved) => Report(r, after, bytesMoved, after);

    /// <summary>As <see cref="Report(WorkloadResult, WorkloadCounters, ulong)"/>, with the flush-queue figures taken
    /// from <paramref name="settled"/> (after <see cref="WorkloadContext.SettleFlushQueues"/>) and the pages still
    /// queued from <paramref name="after"/>.</summary>
    public void Report(WorkloadResult r, WorkloadCounters after, ulong bytesMoved, WorkloadCounters settled)
    {
        ulong ns = after.NowNs - NowNs;
        long rh = after.RcacheHits - RcacheHits, rm = after.RcacheMisses - RcacheMisses;
        r.Add("virtual-time", ns, "ns")
         .Add("bytes-moved", bytesMoved, "bytes")
         .Add("throughput", ns == 0 ? 0 : bytesMoved / (double)ns, "GB/s")
         .Add("iotlb-lookups", after.IotlbLookups - IotlbLookups, "count")
         .Add("iotlb-misses", after.IotlbMisses - IotlbMisses, "count")
         .Add("iotlb-invalidations", settled.Invalidations - Invalidations, "count")
         .Add("iotlb-entries-invalidated", settled.EntriesInvalidated - EntriesInvalidated, "count")
         .Add("table-walks", after.Walks - Walks, "count")
         .Add("iommu-faults", after.Faults - Faults, "count")
         .Add("iova-rcache-hits", rh, "count")
         .Add("iova-rcache-misses", rm, "count")
         .Add("iova-rcache-hit-rate", rh + rm == 0 ? 0 : 100.0 * rh / (rh + rm), "%")
         .Add("iova-tree-allocs", after.TreeAllocs - TreeAllocs, "count")
         .Add("iova-tree-depth", after.TreeDepth, "levels")
         .Add("bounce-bytes", after.BounceBytes - BounceBytes, "bytes")
         .Add("fq-flushes", settled.FqFlushes - FqFlushes, "count")
         .Add("stale-window-max", settled.StaleNsMax, "ns")
         .Add("stale-window-total", settled.StaleNsTotal - StaleNsTotal, "ns")
         .Add("stale-pages-held-end", after.StalePagesQueued, "pages")
         .Add("stale-page-ns", settled.StalePageNs - StalePageNs, "page·ns")
         // Device accesses the IOTLB served after their mapping was unmapped and before its invalidation (measured by
         // the translation unit; lazy mode's exposure actually used, next to the window above that only bounds it).
         .Add("stale-hits", after.StaleHits - StaleHits, "count")
         .Add("stale-hit-bytes", after.StaleHitBytes - StaleHitBytes, "bytes")
         .Add("stale-hit-window-max", after.StaleHitWindowMaxNs, "ns");
    }
}
