using DmaLab.Trace;

namespace DmaLab.Replay;

public sealed partial class TraceReplayer
{
    bool _finished;

    /// <summary>Ends the replay: closes live lifetimes for the observer, emits leak findings, infers the platform
    /// and builds the report. <paramref name="stats"/> (from the reader) supplies line and event counts.</summary>
    public ReplayReport Finish(TraceReadStats? stats = null)
    {
        if (_finished) throw new InvalidOperationException("Finish was already called");
        DrainWindow();
        _finished = true;
        FlushPendingIommu();
        if (_phase is { } ph) { ph.EndNs = _lastNs; ph.LiveMappingsAtEnd = _liveMappings; }

        var liveByDevice = new long[_devices.Count];
        var firstLive = new ulong[_devices.Count];
        var firstLiveLine = new long[_devices.Count];
        foreach (int i in _table.LiveIndices().OrderBy(i => _table[i].Line))
        {
            ref var m = ref _table[i];
            if (m.Table != ReplayTable.Coherent && liveByDevice[m.Device]++ == 0)
            {
                firstLive[m.Device] = m.Table == ReplayTable.Sg ? m.Phys : m.TraceDma;
                firstLiveLine[m.Device] = m.Line;
            }
            _observer?.OnLifetime(m.Device, m.Lane, (ReplayLifetimeKind)m.Table, m.StartNs, _lastNs, m.TraceDma, m.Phys, m.Size, m.Line, liveAtEnd: true);
        }
        foreach (var d in _devices)
        {
            if (d.LiveMappings <= 0) continue;
            long n = _findingCounts.GetValueOrDefault("leak-at-end") + 1;
            _findingCounts["leak-at-end"] = n;
            if (n <= _opt.MaxFindingsPerKind)
                _findings.Add(new Analysis.Finding("leak-at-end", d.Name, firstLive[d.Id],
                    $"{d.LiveMappings} streaming mapping(s), {d.LiveBytes} bytes, still mapped at the end of the trace (first from line {firstLiveLine[d.Id]})",
                    firstLiveLine[d.Id]));
        }

        var platform = InferPlatform();
        double duration = _anyTime && _lastNs > _firstNs ? (_lastNs - _firstNs) / 1e9 : 0;
        long maps = 0, liveBytes = 0, liveAllocs = 0, unmatched = 0, live = 0;
        foreach (var d in _devices) { maps += d.Maps; live += d.LiveMappings; liveBytes += d.LiveBytes; liveAllocs += d.LiveAllocs; unmatched += d.UnmatchedUnmaps; }

        var dmaOpsByDevice = platform.Devices.ToDictionary(x => x.Name, x => x.DmaOps, StringComparer.Ordinal);
        return new ReplayReport
        {
            ReorderedCalls = ReorderedCalls,
            Explain = _explain,
            FloatedCalls = FloatedCalls,
            Input = _opt.Input,
            Lines = stats?.EventLines ?? _events,
            SkippedLines = stats?.MalformedLines ?? 0,
            TotalLines = stats?.Lines ?? _events,
            UnknownEventLines = stats?.UnknownEventLines ?? 0,
            Compression = stats?.Compression ?? "",
            Events = stats?.EventCounts ?? new SortedDictionary<string, long>(StringComparer.Ordinal),
            Devices = _devices.Select(d => Owner(d, dmaOpsByDevice.GetValueOrDefault(d.Name))).ToList(),
            Processes = _processes.Select(p => Owner(p, null)).ToList(),
            LiveMappingsAtEnd = live,
            LiveBytesAtEnd = liveBytes,
            LiveAllocsAtEnd = liveAllocs,
            UnmatchedUnmaps = unmatched,
            Fidelity = _fidelity,
            Findings = _findings,
            FindingCounts = _findingCounts,
            Platform = platform,
            Phases = _phases,
            DroppedPhases = _droppedPhases,
            Malformed = stats?.Malformed ?? new(),
            Lost = stats?.Lost ?? new(),
            LostEventCount = stats?.LostEventCount ?? 0,
            FirstTimestampNs = _firstNs,
            LastTimestampNs = _lastNs,
            DurationSeconds = duration,
            ReplayedEvents = _events,
            Maps = maps,
            MapsPerSecond = duration > 0 ? maps / duration : 0,
        };
    }

    static ReplayOwnerReport Owner(ReplayCounters c, string? dmaOps)
    {
        var d = c as ReplayDeviceStats;
        return new ReplayOwnerReport
        {
            Name = c.Name,
            Pid = (c as ReplayProcessStats)?.Pid,
            Maps = c.Maps, Unmaps = c.Unmaps, SingleMaps = c.SingleMaps, SgMaps = c.SgMaps, SgUnmaps = c.SgUnmaps,
            MapErrors = c.MapErrors, BytesMapped = c.BytesMapped, BytesUnmapped = c.BytesUnmapped,
            Allocs = c.Allocs, Frees = c.Frees, AllocBytes = c.AllocBytes, Syncs = c.Syncs,
            LiveMappingsAtEnd = c.LiveMappings, LiveBytesAtEnd = c.LiveBytes,
            LiveAllocsAtEnd = c.LiveAllocs, LiveAllocBytesAtEnd = c.LiveAllocBytes,
            PeakLiveMappings = c.PeakLiveMappings, PeakLiveBytes = c.PeakLiveBytes, PeakAtNs = c.PeakAtNs,
            MapsPerSecond = c.MapsPerSecond,
            SizeHistogram = c.Sizes.ToList(),
            LiveSeries = c.Live.ToList(),
            DmaOps = dmaOps,
            IdentityMaps = d?.IdentityMaps, TranslatedMaps = d?.TranslatedMaps, BouncedMaps = d?.BouncedMaps,
            SwiotlbBounces = d?.SwiotlbBounces, IommuMaps = d?.IommuMaps, IommuUnmaps = d?.IommuUnmaps,
            IommuMappedBytes = d?.IommuMappedBytes, IoPageFaults = d?.IoPageFaults, UnmatchedUnmaps = d?.UnmatchedUnmaps,
        };
    }
}
