using DmaLab.Trace;

namespace DmaLab.Replay;

public sealed partial class TraceReplayer
{
    bool _finished;

    /// <summary>Ends the replay: closes live lifetimes for the observer, judges what is still live (live-at-end, leaks), infers the platform
    /// and builds the report. <paramref name="stats"/> (from the reader) supplies line and event counts.</summary>
    public ReplayReport Finish(TraceReadStats? stats = null)
    {
        if (_finished) throw new InvalidOperationException("Finish was already called");
        DrainWindow();
        _finished = true;
        FlushPendingIommu();
        if (_phase is { } ph) { ph.EndNs = _lastNs; ph.LiveMappingsAtEnd = _liveMappings; }

        foreach (int i in _table.LiveIndices().OrderBy(i => _table[i].Line))
        {
            ref var m = ref _table[i];
            _observer?.OnLifetime(m.Device, m.Lane, (ReplayLifetimeKind)m.Table, m.StartNs, _lastNs, m.TraceDma, m.Phys, m.Size, m.Line, liveAtEnd: true, m.Dir);
        }
        var liveAtEnd = JudgeLiveAtEnd();

        var platform = InferPlatform();
        double duration = _anyTime && _lastNs > _firstNs ? (_lastNs - _firstNs) / 1e9 : 0;
        long maps = 0, liveBytes = 0, liveAllocs = 0, unmatched = 0, live = 0;
        foreach (var d in _devices) { maps += d.Maps; live += d.LiveMappings; liveBytes += d.LiveBytes; liveAllocs += d.LiveAllocs; unmatched += d.UnmatchedUnmaps; }

        var dmaOpsByDevice = platform.Devices.ToDictionary(x => x.Name, x => x.DmaOps, StringComparer.Ordinal);
        var devices = _devices.Select(d => Owner(d, dmaOpsByDevice.GetValueOrDefault(d.Name))).ToList();
        var processes = _processes.Select(p => Owner(p, null)).ToList();
        var events = stats?.EventCounts ?? new SortedDictionary<string, long>(StringComparer.Ordinal);
        var fidelity = _fidelity;
        var phases = _phases;
        if (_filter is not null)
        {
            // The report shows the events in view; the model and the bookkeeping above saw them all.
            var viewLive = ViewLive();
            devices = _devices.Where(d => _viewDevices.ContainsKey(d.Id) || viewLive.ContainsKey(d.Id))
                .Select(d => ViewOwner(devices[d.Id], _viewDevices.GetValueOrDefault(d.Id), viewLive.GetValueOrDefault(d.Id).Mappings, viewLive.GetValueOrDefault(d.Id).Bytes)).ToList();
            processes = _viewProcesses.Keys.Order().Select(i => ViewOwner(processes[i], _viewProcesses[i], 0, 0)).ToList();
            events = new SortedDictionary<string, long>(_viewEventCounts, StringComparer.Ordinal);
            fidelity = ViewFidelity();
            phases = _phases.Where(PhaseInView).ToList();
            maps = devices.Sum(d => d.Maps);
            live = viewLive.Values.Sum(v => v.Mappings);
            liveBytes = viewLive.Values.Sum(v => v.Bytes);
            unmatched = devices.Sum(d => d.UnmatchedUnmaps ?? 0);
        }
        return new ReplayReport
        {
            ReorderedCalls = ReorderedCalls,
            Explain = _explain,
            FloatedCalls = FloatedCalls,
            Input = _opt.Input,
            Lines = _filter is not null ? _viewEvents : stats?.EventLines ?? _events,
            Filter = _filter?.Describe(),
            EventLinesInTrace = stats?.EventLines ?? _events,
            SkippedLines = (stats?.MalformedLines ?? 0) + _malformedEvents,
            MalformedEvents = _malformedEvents,
            TotalLines = stats?.Lines ?? _events,
            UnknownEventLines = stats?.UnknownEventLines ?? 0,
            Compression = stats?.Compression ?? "",
            InputFormat = stats?.Format ?? "",
            InputNotes = InputNotes(stats),
            Events = events,
            Devices = devices,
            Processes = processes,
            LiveMappingsAtEnd = live,
            CallSites = _sites.Top(_opt.MaxCallSites),
            CallSiteCount = _sites.Count,
            StackLines = stats?.StackLines ?? 0,
            OrphanStacks = stats?.OrphanStacks ?? 0,
            LiveBytesAtEnd = liveBytes,
            LiveAllocsAtEnd = liveAllocs,
            UnmatchedUnmaps = unmatched,
            Fidelity = fidelity,
            Findings = _findings,
            FindingCounts = _findingCounts,
            FindingGroups = _findingGroups.Select(kv => new ReplayFindingGroup(kv.Key.Kind, kv.Key.Device, kv.Value.Count,
                ReplayFindingKinds.IsInformational(kv.Key.Kind), kv.Value.FirstLine)).OrderBy(g => g.Kind, StringComparer.Ordinal).ThenBy(g => g.Device, StringComparer.Ordinal).ToList(),
            LiveAtEnd = liveAtEnd,
            Platform = platform,
            Phases = phases,
            DroppedPhases = _droppedPhases,
            Malformed = MergeMalformed(stats?.Malformed),
            Lost = stats?.Lost ?? new(),
            LostEventCount = stats?.LostEventCount ?? 0,
            BinaryOffset = stats?.BinaryOffset ?? -1,
            BinaryLine = stats?.BinaryLine ?? 0,
            BinaryBytesDropped = stats?.BinaryBytesDropped ?? 0,
            FirstTimestampNs = _firstNs,
            LastTimestampNs = _lastNs,
            DurationSeconds = duration,
            ReplayedEvents = _events,
            Maps = maps,
            MapsPerSecond = duration > 0 ? maps / duration : 0,
        };
    }

    // Lines the reader could not parse and records the validator refused, in line order, the first few of both.
    List<MalformedLine> MergeMalformed(List<MalformedLine>? parsed)
    {
        if (_malformedList.Count == 0) return parsed ?? new();
        return (parsed ?? []).Concat(_malformedList).OrderBy(m => m.Line).Take(TraceReadStats.MaxListed).ToList();
    }

    bool PhaseInView(ReplayPhase p)
    {
        var f = _filter!;
        if (f.Phases.Count > 0 && !f.Phases.Contains(p.Name)) return false;
        if (f.FromSeconds is double from && p.EndNs < (ulong)Math.Round(from * 1e9)) return false;
        if (f.ToSeconds is double to && p.StartNs > (ulong)Math.Round(to * 1e9)) return false;
        return true;
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
