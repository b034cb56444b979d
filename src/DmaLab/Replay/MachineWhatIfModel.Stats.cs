using DmaLab.Iommu.Drivers;

namespace DmaLab.Replay;

public sealed partial class MachineWhatIfModel
{
    /// <summary>Machine counters right after boot: the what-if reports what the trace's calls added to them.</summary>
    readonly record struct Baseline(long Lookups, long Hits, long Misses, long InvalidationOps, long Walks, long Commands, long Faults)
    {
        public static Baseline Take(Machine m)
        {
            long lookups = 0, hits = 0, misses = 0, inv = 0, walks = 0, cmds = 0;
            foreach (var inst in m.Iommu.Instances)
            {
                var s = inst.Hardware.Iotlb.Stats;
                lookups += s.Lookups; hits += s.Hits; misses += s.Misses; inv += s.InvalidationOps;
                walks += inst.Hardware.Walks;
                if (inst.Ops is IommuDriverBase drv) cmds += drv.InvalidationCommands;
            }
            return new Baseline(lookups, hits, misses, inv, walks, cmds, m.Iommu.Core.Faults.Count);
        }

        public static Baseline operator +(Baseline a, Baseline b) => new(a.Lookups + b.Lookups, a.Hits + b.Hits, a.Misses + b.Misses,
            a.InvalidationOps + b.InvalidationOps, a.Walks + b.Walks, a.Commands + b.Commands, a.Faults + b.Faults);

        public static Baseline operator -(Baseline a, Baseline b) => new(a.Lookups - b.Lookups, a.Hits - b.Hits, a.Misses - b.Misses,
            a.InvalidationOps - b.InvalidationOps, a.Walks - b.Walks, a.Commands - b.Commands, a.Faults - b.Faults);
    }

    /// <summary>
    /// What the trace's calls cost on the what-if machine, every figure measured by the model: IOTLB lookups, hits and
    /// misses and table walks of the device accesses (the access pattern in the type's remarks), IOTLB invalidation
    /// operations and the driver's invalidation commands, IOVA allocator figures of every iommu-dma domain, flush-queue
    /// flushes, swiotlb bounces, stale-translation hits, and virtual time: the machine's charges inside the DMA-API
    /// calls ("dma-api": IOVA allocation, page-table writes, invalidation commands and waits, bounce copies) and for
    /// the device's translations ("device-translation": IOTLB hits and walks).
    /// </summary>
    public ReplayModelStats Stats()
    {
        var s = new ReplayModelStats
        {
            Policy = MachineReplayModel.PolicyName(Policy),
            Iommu = _family is not null && _m is not null && _m.Iommu.Instances.Count > 0 ? _family.Name : "none",
            Measured = true,
            DevicePaths = new SortedDictionary<string, int>(_paths, StringComparer.Ordinal),
            Maps = _maps, Unmaps = _unmaps, MapFailures = _failures,
            PtePagesMapped = _pteGranules, PtePagesUnmapped = _pteUnmapped,
            Bounces = _bounces, BouncedMappingBytes = _bouncedMappingBytes,
            DeviceAccesses = _touches, DeviceAccessFaults = _touchFaults, CallsBeyondDram = _beyondDram,
        };
        if (_beyondDram > 0) s.FindingKinds["call-beyond-dram"] = (int)Math.Min(_beyondDram, int.MaxValue);
        if (_m is not { } m) return s;
        // Boot and the hot-add of each device (probe, attach: configuration-cache invalidations) happened at boot on
        // the traced machine; only what the calls did counts.
        var now = Baseline.Take(m) - _setup;
        s.IotlbLookups = now.Lookups - _base.Lookups;
        s.IotlbHits = now.Hits - _base.Hits;
        s.IotlbMisses = now.Misses - _base.Misses;
        s.Invalidations = now.InvalidationOps - _base.InvalidationOps;
        s.InvalidationCommands = now.Commands - _base.Commands;
        s.PageWalks = now.Walks - _base.Walks;
        s.IommuFaults = now.Faults - _base.Faults;
        foreach (var inst in m.Iommu.Instances)
        {
            var st = inst.Hardware.Stale;
            s.StaleHits += st.Hits;
            s.StaleHitBytes += st.Bytes;
            s.StaleHitWindowMaxNs = Math.Max(s.StaleHitWindowMaxNs, st.WindowMaxNs);
        }
        foreach (var c in m.IommuDma.Cookies)
        {
            s.AddIova(c.Allocator);
            s.IovaTreeDepth = Math.Max(s.IovaTreeDepth, c.Allocator.Iovad.TreeDepth());
        }
        s.FinishIova();
        if (m.DmaSystem.Swiotlb is { } pool)
        {
            s.BounceBytes = pool.Stats.BouncedBytesToDevice + pool.Stats.BouncedBytesFromDevice;
            s.SwiotlbUsedHiwaterBytes = pool.Stats.UsedHiwater << Dma.Swiotlb.IoTlbShift;
            s.SwiotlbFull = (long)pool.Stats.Failures;
        }
        foreach (var f in m.Findings) s.FindingKinds[f.Kind] = s.FindingKinds.GetValueOrDefault(f.Kind) + 1;
        s.EstimatedNsBreakdown["dma-api"] = _apiNs;
        s.EstimatedNsBreakdown["device-translation"] = _deviceNs;
        s.EstimatedNs = _apiNs + _deviceNs;
        return s;
    }
}
