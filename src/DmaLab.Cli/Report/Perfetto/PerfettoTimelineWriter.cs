using DmaLab.Dma;
using DmaLab.Replay;
using Google.Protobuf;

namespace DmaLab.Cli.Report.Perfetto;

/// <summary>
/// Writes a replay as a native Perfetto trace (.pftrace: protobuf TracePackets, our schema in perfetto_trace.proto)
/// that ui.perfetto.dev and trace_processor open. Layout: one process track per device with a child track per lane
/// (mapping lifetimes on a lane never overlap; each lifetime is a slice with its direction, size, dma and phys
/// addresses and trace line as arguments; phys_addr is left out where it equals dma_addr), a "findings" track of instants, and counter tracks for live mappings and
/// bytes; a "markers" process holds the phases (marker to marker) as slices; the model's counters (IOVA space in use
/// per domain, flush-queue depth, swiotlb slots, what-if IOTLB misses per ms) are global counter tracks. Event and
/// argument names are interned on one packet sequence, so a packet carries small ids instead of strings.
/// Counter values are kept per 100 µs window as the window's lowest, highest and last value (in time order), so no
/// peak is lost and a 2 M-event trace stays small. Streams as it goes; call <see cref="Complete"/> at the end.
/// </summary>
public sealed class PerfettoTimelineWriter : IReplayObserver, IDisposable
{
    const uint Sequence = 1;
    const uint SeqIncrementalStateCleared = 1, SeqNeedsIncrementalState = 2;
    const ulong CounterWindowNs = 100_000;
    const ulong MarkersUuid = 1, PhasesUuid = 2;

    readonly CodedOutputStream _out;
    readonly Dictionary<string, ulong> _names = new(StringComparer.Ordinal);
    readonly Dictionary<string, ulong> _argNames = new(StringComparer.Ordinal);
    readonly Dictionary<string, ulong> _categories = new(StringComparer.Ordinal);
    readonly Dictionary<string, ulong> _argValues = new(StringComparer.Ordinal);
    readonly List<ulong> _deviceUuids = new();
    readonly Dictionary<int, ulong> _findingTracks = new();
    ulong _nextUuid = PhasesUuid + 1;
    readonly Dictionary<(int Device, int Lane), ulong> _lanes = new();
    readonly Dictionary<(ReplayCounterKind Kind, int Id), Counter> _counters = new();
    InternedData? _pendingInterned;
    bool _phaseOpen, _completed;
    ulong _lastNs;

    sealed class Counter
    {
        public ulong Uuid;
        public bool Open;
        public ulong Window;
        public long Min, Max, Last, Emitted = long.MinValue;
        public ulong MinNs, MaxNs, LastNs;
    }

    public PerfettoTimelineWriter(Stream output)
    {
        _out = new CodedOutputStream(output ?? throw new ArgumentNullException(nameof(output)), leaveOpen: true);
        Write(new TracePacket { TrustedPacketSequenceId = Sequence, SequenceFlags = SeqIncrementalStateCleared });
        Track(new TrackDescriptor { Uuid = MarkersUuid, Process = new ProcessDescriptor { Pid = 1, ProcessName = "markers" } });
        Track(new TrackDescriptor { Uuid = PhasesUuid, ParentUuid = MarkersUuid, Name = "phases (tracing_mark_write)" });
    }

    public long Slices { get; private set; }
    public long Instants { get; private set; }
    public long CounterValues { get; private set; }

    // Track uuids are handed out in order of first use: small numbers, one- or two-byte varints on every event.
    ulong DeviceUuid(int device)
    {
        while (_deviceUuids.Count <= device) _deviceUuids.Add(0);
        if (_deviceUuids[device] == 0)
        {
            _deviceUuids[device] = _nextUuid++;
            Track(new TrackDescriptor { Uuid = _deviceUuids[device], Process = new ProcessDescriptor { Pid = device + 2, ProcessName = $"device {device}" } });
        }
        return _deviceUuids[device];
    }

    public void OnDevice(int deviceId, string name)
    {
        while (_deviceUuids.Count <= deviceId) _deviceUuids.Add(0);
        if (_deviceUuids[deviceId] == 0) _deviceUuids[deviceId] = _nextUuid++;
        Track(new TrackDescriptor { Uuid = _deviceUuids[deviceId], Process = new ProcessDescriptor { Pid = deviceId + 2, ProcessName = name } });
    }

    public void OnLifetime(int deviceId, int lane, ReplayLifetimeKind kind, ulong startNs, ulong endNs, ulong dmaAddr, ulong physAddr,
                           ulong size, long line, bool liveAtEnd, DmaDirection direction)
    {
        if (!_lanes.TryGetValue((deviceId, lane), out ulong track))
        {
            track = _nextUuid++;
            _lanes.Add((deviceId, lane), track);
            Track(new TrackDescriptor { Uuid = track, ParentUuid = DeviceUuid(deviceId), Name = $"lane {lane}" });
        }
        var begin = Event(TrackEvent.Types.Type.SliceBegin, track, kind switch
        {
            ReplayLifetimeKind.Sg => "dma_map_sg",
            ReplayLifetimeKind.Coherent => "dma_alloc",
            _ => "dma_map",
        });
        begin.CategoryIids.Add(Intern(_categories, kind == ReplayLifetimeKind.Coherent ? "coherent" : "streaming", (d, n) => d.EventCategories.Add(n)));
        var args = begin.DebugAnnotations;
        if (kind != ReplayLifetimeKind.Coherent)
            args.Add(new DebugAnnotation { NameIid = Arg("direction"), StringValueIid = Intern(_argValues, direction.ToKernelString(),
                (d, n) => d.DebugAnnotationStringValues.Add(new InternedString { Iid = n.Iid, Str = ByteString.CopyFromUtf8(n.Name) })) });
        args.Add(new DebugAnnotation { NameIid = Arg("size"), UintValue = size });
        args.Add(new DebugAnnotation { NameIid = Arg("dma_addr"), PointerValue = dmaAddr });
        // dma-direct without an offset maps dma_addr == phys_addr: the second argument would only repeat the first
        if (kind != ReplayLifetimeKind.Coherent && physAddr != dmaAddr) args.Add(new DebugAnnotation { NameIid = Arg("phys_addr"), PointerValue = physAddr });
        args.Add(new DebugAnnotation { NameIid = Arg("line"), IntValue = line });
        if (liveAtEnd) args.Add(new DebugAnnotation { NameIid = Arg("live_at_end"), BoolValue = true });
        Emit(startNs, begin);
        Emit(endNs, new TrackEvent { Type = TrackEvent.Types.Type.SliceEnd, TrackUuid = track });
        Slices++;
    }

    public void OnInstant(int deviceId, ulong ns, string name, string detail, long line)
    {
        if (deviceId < 0)
        {
            // a marker: the phase before it ends, the one it names begins
            if (_phaseOpen) Emit(ns, new TrackEvent { Type = TrackEvent.Types.Type.SliceEnd, TrackUuid = PhasesUuid });
            var phase = new TrackEvent { Type = TrackEvent.Types.Type.SliceBegin, TrackUuid = PhasesUuid, Name = name };
            phase.DebugAnnotations.Add(new DebugAnnotation { NameIid = Arg("line"), IntValue = line });
            Emit(ns, phase);
            _phaseOpen = true;
            Slices++;
            return;
        }
        if (!_findingTracks.TryGetValue(deviceId, out ulong track))
        {
            _findingTracks.Add(deviceId, track = _nextUuid++);
            Track(new TrackDescriptor { Uuid = track, ParentUuid = DeviceUuid(deviceId), Name = "findings" });
        }
        var e = Event(TrackEvent.Types.Type.Instant, track, name);
        e.DebugAnnotations.Add(new DebugAnnotation { NameIid = Arg("detail"), StringValue = detail });
        e.DebugAnnotations.Add(new DebugAnnotation { NameIid = Arg("line"), IntValue = line });
        Emit(ns, e);
        Instants++;
    }

    public void OnCounter(ReplayCounterKind kind, int id, string name, ulong ns, double value)
    {
        if (!_counters.TryGetValue((kind, id), out var c))
        {
            c = new Counter { Uuid = _nextUuid++ };
            _counters.Add((kind, id), c);
            bool perDevice = kind is ReplayCounterKind.LiveMappings or ReplayCounterKind.LiveBytes;
            var unit = kind is ReplayCounterKind.LiveBytes or ReplayCounterKind.IovaBytesInUse
                ? CounterDescriptor.Types.Unit.SizeBytes : CounterDescriptor.Types.Unit.Count;
            var t = new TrackDescriptor { Uuid = c.Uuid, Name = CounterName(kind, name), Counter = new CounterDescriptor { Unit = unit } };
            if (perDevice) t.ParentUuid = DeviceUuid(id);
            Track(t);
        }
        long v = (long)value;
        ulong window = ns / CounterWindowNs;
        if (c.Open && window != c.Window) Flush(c);
        if (!c.Open)
        {
            c.Open = true;
            c.Window = window;
            c.Min = c.Max = v;
            c.MinNs = c.MaxNs = ns;
        }
        else
        {
            if (v < c.Min) { c.Min = v; c.MinNs = ns; }
            if (v > c.Max) { c.Max = v; c.MaxNs = ns; }
        }
        c.Last = v;
        c.LastNs = ns;
    }

    static string CounterName(ReplayCounterKind kind, string name) => kind switch
    {
        ReplayCounterKind.LiveMappings => "live mappings",
        ReplayCounterKind.LiveBytes => "live mapped bytes",
        ReplayCounterKind.IovaBytesInUse => $"IOVA space in use: {name}",
        ReplayCounterKind.FlushQueueDepth => $"flush-queue depth: {name}",
        ReplayCounterKind.SwiotlbSlotsInUse => $"swiotlb slots in use: {name}",
        ReplayCounterKind.IotlbMissesPerMs => $"IOTLB misses per ms: {name}",
        _ => name,
    };

    /// <summary>The window's lowest, highest and last values in time order (each once, only when it changed).</summary>
    void Flush(Counter c)
    {
        c.Open = false;
        Span<(ulong Ns, long V)> pts = [(c.MinNs, c.Min), (c.MaxNs, c.Max), (c.LastNs, c.Last)];
        if (pts[0].Ns > pts[1].Ns) (pts[0], pts[1]) = (pts[1], pts[0]);
        foreach (var (ns, v) in pts)
        {
            if (v == c.Emitted) continue;
            Emit(ns, new TrackEvent { Type = TrackEvent.Types.Type.Counter, TrackUuid = c.Uuid, CounterValue = v });
            c.Emitted = v;
            CounterValues++;
        }
    }

    TrackEvent Event(TrackEvent.Types.Type type, ulong track, string name) =>
        new() { Type = type, TrackUuid = track, NameIid = Intern(_names, name, (d, n) => d.EventNames.Add(n)) };

    ulong Arg(string name) => Intern(_argNames, name, (d, n) => d.DebugAnnotationNames.Add(n));

    /// <summary>The iid of <paramref name="name"/>, adding it to the next packet's interned data the first time.</summary>
    ulong Intern(Dictionary<string, ulong> table, string name, Action<InternedData, InternedName> add)
    {
        if (table.TryGetValue(name, out ulong iid)) return iid;
        iid = (ulong)table.Count + 1;
        table.Add(name, iid);
        add(_pendingInterned ??= new InternedData(), new InternedName { Iid = iid, Name = name });
        return iid;
    }

    void Emit(ulong ns, TrackEvent e)
    {
        if (ns > _lastNs) _lastNs = ns;
        var p = new TracePacket { Timestamp = ns, TrustedPacketSequenceId = Sequence, SequenceFlags = SeqNeedsIncrementalState, TrackEvent = e };
        if (_pendingInterned is { } d) { p.InternedData = d; _pendingInterned = null; }
        Write(p);
    }

    void Track(TrackDescriptor t)
    {
        Write(new TracePacket { TrustedPacketSequenceId = Sequence, TrackDescriptor = t });
    }

    void Write(TracePacket p)
    {
        _out.WriteTag(Trace.PacketFieldNumber, WireFormat.WireType.LengthDelimited);
        _out.WriteMessage(p);
    }

    /// <summary>Flushes the counters, ends the last phase and the stream (idempotent). Call after the replay.</summary>
    public void Complete()
    {
        if (_completed) return;
        _completed = true;
        foreach (var c in _counters.Values) if (c.Open) Flush(c);
        if (_phaseOpen) Emit(_lastNs, new TrackEvent { Type = TrackEvent.Types.Type.SliceEnd, TrackUuid = PhasesUuid });
        _out.Flush();
    }

    public void Dispose()
    {
        Complete();
        _out.Dispose();
    }
}
