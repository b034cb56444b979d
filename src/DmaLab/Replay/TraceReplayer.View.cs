using System.Runtime.InteropServices;
using DmaLab.Trace;

namespace DmaLab.Replay;

public sealed partial class TraceReplayer
{
    // The report's filter (ReplayOptions.Filter): every event is replayed; _inView says whether the current one is
    // reported. Counts of events in view are kept apart from the owners' own counters, which stay whole because
    // the platform inference and the leak judgement read them as state.
    readonly ReplayFilter? _filter;
    bool _inView = true;
    long _viewEvents;
    readonly Dictionary<string, long> _viewEventCounts = new(StringComparer.Ordinal);
    readonly Dictionary<int, ReplayTotals> _viewDevices = new();
    readonly Dictionary<int, ReplayTotals> _viewProcesses = new();
    (long Compared, long Matched, long NotComparable, long SgEntries, long SgMatched, long Inferred, long InferredMatched, long Resynced) _viewFidelity;

    void Process(TraceRecord r)
    {
        if (_filter is null) { ProcessCore(r); return; }
        string? phase = r.Kind == TraceEventKind.TracingMarkWrite ? r.Message : _phase?.Name ?? (_phases.Count == 0 ? "(start)" : null);
        _inView = _filter.Matches(r, phase);
        if (!_inView) { ProcessCore(r); _inView = true; return; }

        int dev = r.Device.Length > 0 && _deviceNames.TryGet(r.Device, out int di) ? di : -1;
        int proc = _processByPid.TryGetValue(r.Pid, out int pi) ? pi : _lastPid == r.Pid ? _lastProcess : -1;
        var devBefore = ReplayTotals.Of(dev >= 0 ? _devices[dev] : null);
        var procBefore = ReplayTotals.Of(proc >= 0 ? _processes[proc] : null);
        var f = _fidelity;
        var fidBefore = (f.Compared, f.Matched, f.NotComparable, f.ComparedSgEntries, f.MatchedSgEntries, f.Inferred, f.InferredMatched, f.Resynced);

        ProcessCore(r);

        _viewEvents++;
        CollectionsMarshal.GetValueRefOrAddDefault(_viewEventCounts, r.EventName, out _)++;
        if (r.Device.Length > 0 && _deviceNames.TryGet(r.Device, out di) && di < _devices.Count)
            CollectionsMarshal.GetValueRefOrAddDefault(_viewDevices, di, out _).AddChange(ReplayTotals.Of(_devices[di]), di == dev ? devBefore : default);
        int pAfter = _processByPid.TryGetValue(r.Pid, out pi) ? pi : _lastPid == r.Pid ? _lastProcess : -1;
        if (pAfter >= 0)
            CollectionsMarshal.GetValueRefOrAddDefault(_viewProcesses, pAfter, out _).AddChange(ReplayTotals.Of(_processes[pAfter]), pAfter == proc ? procBefore : default);
        _viewFidelity.Compared += f.Compared - fidBefore.Compared;
        _viewFidelity.Matched += f.Matched - fidBefore.Matched;
        _viewFidelity.NotComparable += f.NotComparable - fidBefore.NotComparable;
        _viewFidelity.SgEntries += f.ComparedSgEntries - fidBefore.ComparedSgEntries;
        _viewFidelity.SgMatched += f.MatchedSgEntries - fidBefore.MatchedSgEntries;
        _viewFidelity.Inferred += f.Inferred - fidBefore.Inferred;
        _viewFidelity.InferredMatched += f.InferredMatched - fidBefore.InferredMatched;
        _viewFidelity.Resynced += f.Resynced - fidBefore.Resynced;
    }

    /// <summary>The fidelity of the events in view (the mismatches listed are already only theirs).</summary>
    ReplayFidelity ViewFidelity()
    {
        var v = new ReplayFidelity
        {
            Model = _fidelity.Model, Compared = _viewFidelity.Compared, Matched = _viewFidelity.Matched,
            NotComparable = _viewFidelity.NotComparable, ComparedSgEntries = _viewFidelity.SgEntries, MatchedSgEntries = _viewFidelity.SgMatched,
            Inferred = _viewFidelity.Inferred, InferredMatched = _viewFidelity.InferredMatched, Resynced = _viewFidelity.Resynced,
        };
        v.FirstMismatches.AddRange(_fidelity.FirstMismatches);
        return v;
    }

    /// <summary>Live streaming mappings at the end that were made in view, per device: (mappings, bytes).</summary>
    Dictionary<int, (long Mappings, long Bytes)> ViewLive()
    {
        var live = new Dictionary<int, (long, long)>();
        foreach (int i in _table.LiveIndices())
        {
            ref var m = ref _table[i];
            if (m.Table == ReplayTable.Coherent || !m.InView) continue;
            ref var e = ref CollectionsMarshal.GetValueRefOrAddDefault(live, m.Device, out _);
            e = (e.Item1 + 1, e.Item2 + (long)m.Size);
        }
        return live;
    }

    /// <summary>An owner's report narrowed to the events in view: the view's counts, the live mappings made in view;
    /// peaks and the live series stay the whole trace's (they are state, not counts).</summary>
    static ReplayOwnerReport ViewOwner(ReplayOwnerReport whole, in ReplayTotals t, long live, long liveBytes) => new()
    {
        Name = whole.Name, Pid = whole.Pid,
        Maps = t.Maps, Unmaps = t.Unmaps, SingleMaps = t.SingleMaps, SgMaps = t.SgMaps, SgUnmaps = t.SgUnmaps,
        MapErrors = t.MapErrors, BytesMapped = t.BytesMapped, BytesUnmapped = t.BytesUnmapped,
        Allocs = t.Allocs, Frees = t.Frees, AllocBytes = t.AllocBytes, Syncs = t.Syncs,
        LiveMappingsAtEnd = live, LiveBytesAtEnd = liveBytes,
        LiveAllocsAtEnd = whole.LiveAllocsAtEnd, LiveAllocBytesAtEnd = whole.LiveAllocBytesAtEnd,
        PeakLiveMappings = whole.PeakLiveMappings, PeakLiveBytes = whole.PeakLiveBytes, PeakAtNs = whole.PeakAtNs,
        MapsPerSecond = whole.MapsPerSecond, SizeHistogram = whole.SizeHistogram, LiveSeries = whole.LiveSeries, DmaOps = whole.DmaOps,
        IdentityMaps = whole.Pid is not null ? null : t.IdentityMaps,
        TranslatedMaps = whole.Pid is not null ? null : t.TranslatedMaps, BouncedMaps = whole.Pid is not null ? null : t.BouncedMaps,
        SwiotlbBounces = whole.Pid is not null ? null : t.SwiotlbBounces, IommuMaps = whole.Pid is not null ? null : t.IommuMaps,
        IommuUnmaps = whole.Pid is not null ? null : t.IommuUnmaps, IommuMappedBytes = whole.Pid is not null ? null : t.IommuMappedBytes,
        IoPageFaults = whole.Pid is not null ? null : t.IoPageFaults, UnmatchedUnmaps = whole.Pid is not null ? null : t.UnmatchedUnmaps,
    };
}
