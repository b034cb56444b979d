namespace DmaLab.Replay;

public sealed partial class MachineReplayModel
{
    /// <summary>
    /// What the replayed calls cost on this configuration. Estimated time (virtual ns, the platform's cost model):
    /// IOVA allocations (rcache hit vs tree walk), PTE writes, IOTLB invalidations (command + sync), IOTLB misses (a
    /// 4-level walk of DRAM accesses each) and hits, and bounce copies.
    /// </summary>
    public ReplayModelStats Stats()
    {
        var s = new ReplayModelStats
        {
            Policy = PolicyName(_opt.Policy),
            Iommu = _domains > 0 ? Family().Name : "none",
            DevicePaths = new SortedDictionary<string, int>(_paths, StringComparer.Ordinal),
            Maps = _maps, Unmaps = _unmaps, MapFailures = _failures,
            PtePagesMapped = _pteMapped, PtePagesUnmapped = _pteUnmapped,
            Invalidations = _invalidations,
            IotlbMisses = _iotlb.Misses, IotlbHits = _iotlb.Hits,
            Bounces = _bounces,
        };
        foreach (var d in _byName.Values)
            if (d.Domain is { } dom) s.AddIova(dom);
        s.FinishIova();
        if (_pool is { } pool)
        {
            s.BounceBytes = pool.Stats.BouncedBytesToDevice + pool.Stats.BouncedBytesFromDevice;
            s.SwiotlbUsedHiwaterBytes = pool.Stats.UsedHiwater << Dma.Swiotlb.IoTlbShift;
            s.SwiotlbFull = (long)pool.Stats.Failures;
        }
        var b = s.EstimatedNsBreakdown;
        b["iova"] = (ulong)s.IovaRcacheHits * _cost.IovaRcacheNs + (ulong)(s.IovaTreeAllocs + s.IovaTreeFrees) * _cost.IovaTreeNs;
        b["pte"] = (ulong)(s.PtePagesMapped + s.PtePagesUnmapped) * _cost.PteWriteNs;
        b["invalidate"] = (ulong)s.Invalidations * (_cost.InvalidateCommandNs + _cost.IotlbInvalidateSyncNs);
        b["iotlb"] = (ulong)s.IotlbMisses * 4 * _cost.DramAccessNs + (ulong)s.IotlbHits * _cost.IotlbHitNs;
        b["bounce"] = _cost.CopyNs(s.BounceBytes);
        ulong total = 0;
        foreach (var v in b.Values) total += v;
        s.EstimatedNs = total;
        return s;
    }
}
