using DmaLab.Analysis;
using DmaLab.Dma;
using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>
/// Rebuilds each device's DMA mappings and their lifetimes from trace records, the way dma-debug tracks them
/// (Linux: kernel/dma/debug.c): an unmap is matched to its map by device + dma_addr (preferring the same size and
/// direction when a buffer is mapped more than once at a time), an sg unmap by device + its physical address list.
/// Counts per device, per process and per marker phase; findings for unmatched unmaps/frees, size and direction
/// mismatches, overlapping cachelines and leaks at the end; asks an <see cref="IReplayModel"/> for every call and
/// compares its dma addresses with the kernel's (<see cref="ReplayFidelity"/>). Steady state allocates nothing per
/// event. Feed records with <see cref="Consume"/>, then call <see cref="Finish"/>.
/// </summary>
public sealed partial class TraceReplayer
{
    readonly ReplayOptions _opt;
    readonly IReplayModel? _model;
    readonly IReplayObserver? _observer;
    readonly IReplayCounterSource? _counterSource;
    readonly ReplayCallSites _sites = new();
    ulong _nextCounterNs;
    readonly ReplayMappingTable _table = new();
    readonly NameTable _deviceNames = new();
    readonly List<ReplayDeviceStats> _devices = new();
    readonly List<ReplayProcessStats> _processes = new();
    readonly Dictionary<int, int> _processByPid = new();
    readonly Dictionary<ulong, int> _cachelines = new();
    readonly List<Finding> _findings = new();
    readonly SortedDictionary<string, long> _findingCounts = new(StringComparer.Ordinal);
    readonly ReplayFidelity _fidelity = new();
    readonly List<ReplayPhase> _phases = new();
    readonly int _cachelineShift;
    readonly ulong[] _sgDma = new ulong[TraceRecord.TraceMaxEntries];
    readonly ulong[] _sgLen = new ulong[TraceRecord.TraceMaxEntries];
    readonly List<PriorityQueue<int, int>> _freeLanes = new();
    readonly List<int> _laneCount = new();

    int _lastPid = int.MinValue, _lastProcess = -1, _otherProcess = -1;
    long _events;
    ulong _firstNs, _lastNs;
    bool _anyTime;
    ReplayPhase? _phase;
    long _droppedPhases;
    long _liveMappings;

    readonly ReplayReorderWindow? _window;
    readonly List<string>? _explain;
    readonly ITraceEvidence? _evidence;
    readonly Dictionary<int, string> _attachedByPid = new();

    public TraceReplayer(ReplayOptions? options = null)
    {
        _opt = options ?? new ReplayOptions();
        _model = _opt.Model;
        if (_model is not null && _model.WantsLookahead && _opt.ReorderWindow > 0)
            _window = new ReplayReorderWindow(_opt.ReorderWindow) { FreesDeferred = _model.DefersFrees };
        _evidence = _window is null ? null : _model as ITraceEvidence;
        _observer = _opt.Observer;
        _counterSource = _observer is null ? null : _model as IReplayCounterSource;
        _filter = _opt.Filter is { IsEmpty: false } f ? f : null;
        if (_opt.ExplainLine != 0)
        {
            _explain = new List<string>();
            if (_window is not null) { _window.ExplainLine = _opt.ExplainLine; _window.Say = _explain.Add; }
            (_model as IReplayExplain)?.ExplainLine(_opt.ExplainLine, _explain.Add);
        }
        _fidelity.Model = _model?.Name ?? "";
        _validator = _opt.Validator ?? new TraceRecordValidator();
        int cl = Math.Max(1, _opt.CachelineBytes);
        _cachelineShift = System.Numerics.BitOperations.Log2((uint)cl);
    }

    /// <summary>Reads every record of <paramref name="reader"/> through a new replayer and returns the report.</summary>
    public static ReplayReport Replay(FtraceReader reader, ReplayOptions? options = null)
    {
        using var ahead = FtraceReadAhead.Open(reader);
        return Replay((ITraceRecordSource)ahead, options);
    }

    /// <summary>Reads every record of <paramref name="source"/> (any form: <see cref="TraceSource.Open"/>) through a
    /// new replayer and returns the report.</summary>
    public static ReplayReport Replay(ITraceRecordSource source, ReplayOptions? options = null)
    {
        var replayer = new TraceReplayer(options);
        while (source.Read()) source.Exchange(replayer.ConsumeOwned(source.Current));
        return replayer.Finish(source.Stats);
    }

    public IReadOnlyList<ReplayDeviceStats> Devices => _devices;
    public IReadOnlyList<ReplayProcessStats> Processes => _processes;
    public long LiveMappings => _liveMappings;

    /// <summary>Replays one record. The record may be reused by the caller afterwards. With a model, records pass
    /// through a bounded lookahead window first (see <see cref="ReplayReorderWindow"/>) and are replayed when they
    /// leave it; <see cref="Finish"/> drains it.</summary>
    public void Consume(TraceRecord r)
    {
        if (Refused(r)) return;
        if (_window is null || PassesWindow(r)) { Process(r); return; }
        if (_window.Full) ProcessWindowHead();
        _evidence?.Observe(r);
        _window.Push(r);
    }

    // The lookahead window restores the order of allocations (IOVAs, bounce slots, coherent buffers) relative to
    // interrupts and finds the IOMMU layer's own mappings. A trace that so far shows only dma-direct identity
    // mappings (dma_addr == phys_addr), their unmaps, syncs and markers has neither, so its records are replayed at
    // once, in trace order, without the window's cost; the first record that may allocate or translate (any other
    // event, or an address that differs from its physical one) opens the window for the rest of the trace.
    bool _windowOpen;

    bool PassesWindow(TraceRecord r)
    {
        if (!_sawDmaApi && r.Kind is not (TraceEventKind.IommuMap or TraceEventKind.IommuUnmap or TraceEventKind.IommuAddDeviceToGroup
                or TraceEventKind.IommuRemoveDeviceFromGroup or TraceEventKind.IommuAttachDeviceToDomain or TraceEventKind.IommuDetachDeviceFromDomain
                or TraceEventKind.IommuIoPageFault or TraceEventKind.SwiotlbBounced or TraceEventKind.TracingMarkWrite or TraceEventKind.Unknown))
            _sawDmaApi = true;
        if (_windowOpen) return false;
        switch (r.Kind)
        {
            case TraceEventKind.DmaMapPhys:
            case TraceEventKind.DmaMapResource:
                if (r.DmaAddr == r.PhysAddr) return true;
                break;
            case TraceEventKind.DmaMapSg:
            {
                var dma = r.DmaAddrs;
                var phys = r.PhysAddrs;
                if (dma.Length != phys.Length || r.Truncated || r.FullEnts != r.FullNents) break;
                bool identity = true;
                for (int i = 0; i < dma.Length && identity; i++) identity = dma[i] == phys[i];
                if (identity) return true;
                break;
            }
            case TraceEventKind.DmaUnmapPhys:
            case TraceEventKind.DmaUnmapResource:
            case TraceEventKind.DmaUnmapSg:
            case TraceEventKind.DmaSyncSingleForCpu:
            case TraceEventKind.DmaSyncSingleForDevice:
            case TraceEventKind.DmaSyncSgForCpu:
            case TraceEventKind.DmaSyncSgForDevice:
            case TraceEventKind.TracingMarkWrite:
            case TraceEventKind.TimerStart:
            case TraceEventKind.TimerExpireEntry:
            case TraceEventKind.Unknown:
                return true;
        }
        _windowOpen = true;
        return false;
    }

    /// <summary>Like <see cref="Consume"/>, but the replayer may keep <paramref name="r"/> (in its lookahead window)
    /// instead of copying it: the caller must not touch <paramref name="r"/> again and refills the returned record
    /// instead (a spare, or <paramref name="r"/> itself when it was replayed at once).</summary>
    internal TraceRecord ConsumeOwned(TraceRecord r)
    {
        if (Refused(r)) return r;
        if (_window is null || PassesWindow(r)) { Process(r); return r; }
        if (_window.Full) ProcessWindowHead();
        _evidence?.Observe(r);
        return _window.PushOwned(r);
    }

    // The validation boundary: a record the kernel could not have produced is a malformed event, counted and listed
    // with its line, and goes no further (see TraceRecordValidator).
    readonly TraceRecordValidator _validator;
    long _malformedEvents;
    readonly List<MalformedLine> _malformedList = new();

    bool Refused(TraceRecord r)
    {
        if (_validator.Check(r) is not { } reason) return false;
        _malformedEvents++;
        if (_malformedList.Count < TraceReadStats.MaxListed)
        {
            string text = TraceEventFormatter.FormatLine(r);
            _malformedList.Add(new MalformedLine(r.Line, $"{r.EventName}: {reason}", text.Length > 200 ? text[..200] : text));
        }
        return true;
    }

    /// <summary>Records refused by the validation boundary so far (see <see cref="TraceRecordValidator"/>).</summary>
    public long MalformedEvents => _malformedEvents;

    void ProcessWindowHead()
    {
        // An interrupt the next call's allocation may have preceded: the model's preview decides (see
        // ReplayReorderWindow.MarkFloats); when the call floats ahead, its first record is the head now.
        if (_window!.Peek().FloatLine != 0) _window.TryFloat(_mustPrecede ??= MustPrecede);
        Process(_window.Peek());
        _window.Pop();
    }

    Func<TraceRecord, TraceRecord, bool>? _mustPrecede;

    /// <summary>
    /// Whether call <paramref name="c"/>'s allocation must have come before interrupt record <paramref name="x"/> (or
    /// another CPU's allocation traced before c's first map line): the model, performing the call now, gives the
    /// kernel's address, and after <paramref name="x"/> it would not (a strict free of another range of the call's size
    /// class would be handed out instead, a same-class allocation would take that address first, an allocation that
    /// would get part of that range would take it, a flush-queue timer would put another range on top).
    /// </summary>
    bool MustPrecede(TraceRecord c, TraceRecord x)
    {
        if (_model is null || !_deviceNames.TryGet(c.Device, out int id) || id >= _devices.Count) return false;
        if (!PreviewOf(c, id, out ulong now, out ulong traced, out ulong pages)) return false;
        if (c.Line == _opt.ExplainLine)
            _explain?.Add($"before {(x.Cpu == c.Cpu ? "interrupt" : $"CPU {x.Cpu}'s")} line {x.Line} ({x.EventName}): the allocation, made there, would get " +
                          (now == ulong.MaxValue ? "nothing the model can tell" : $"0x{now:x}") + $" (traced 0x{traced:x})");
        if (now == ulong.MaxValue || now != traced) return false;
        ulong page = traced & ~0xFFFUL;
        switch (x.Kind)
        {
            case TraceEventKind.TimerExpireEntry:
                ulong top = _model.AfterFlush(id, pages);
                return top != ulong.MaxValue && top != page;
            case TraceEventKind.DmaMapPhys or TraceEventKind.DmaMapResource or TraceEventKind.DmaMapSg or TraceEventKind.DmaAlloc
                or TraceEventKind.DmaAllocPages or TraceEventKind.DmaAllocSgt:
                // An interrupt's allocation of the same size class would take the top of this CPU's range cache
                // first; any allocation (another CPU's too: the tree is shared) that, made first, would get part of
                // the range this call received would have taken it. Either way this call came first.
                ulong xPages = PagesOf(x.Kind == TraceEventKind.DmaMapSg && !x.DmaAddrs.IsEmpty ? x.DmaAddrs[0] : x.DmaAddr, SgOrSize(x));
                if (x.Cpu == c.Cpu && SizeClass(pages) == SizeClass(xPages)) return true;
                if (!_deviceNames.TryGet(x.Device, out int xid) || xid >= _devices.Count
                    || !PreviewOf(x, xid, out ulong xNow, out _, out ulong xLen) || xNow == ulong.MaxValue) return false;
                ulong xLo = xNow & ~0xFFFUL;
                return xLo < page + (pages << 12) && page < xLo + (xLen << 12);
            default:
                // A strict free of another range of the class: after it, that range is on top.
                return x.FloatFreedIova != 0 && x.FloatFreedIova != page && SizeClass(pages) == SizeClass(x.FloatFreedPages);
        }
    }

    /// <summary>What the allocating call <paramref name="c"/> of device <paramref name="id"/> would get if the model
    /// made it now (ulong.MaxValue when it cannot tell), with its traced address and its pages.</summary>
    bool PreviewOf(TraceRecord c, int id, out ulong now, out ulong traced, out ulong pages)
    {
        ulong phys, size;
        now = ulong.MaxValue;
        if (c.Kind == TraceEventKind.DmaMapSg)
        {
            var dma = c.DmaAddrs;
            var lens = c.Lengths;
            traced = pages = 0;
            if (c.PhysAddrs.IsEmpty || dma.IsEmpty || lens.Length < dma.Length) return false;
            phys = c.PhysAddrs[0];
            size = 0;
            foreach (ulong l in lens) size += l;
            traced = dma[0];
            pages = PagesOf(dma[0], dma[^1] + lens[dma.Length - 1] - (dma[0] & ~0xFFFUL));
            if (_model is ITracedSgSegments hint) hint.SetTracedSgSegments(dma);
        }
        else
        {
            phys = c.PhysAddr;
            size = c.Size;
            traced = c.DmaAddr;
            pages = PagesOf(traced, size);
        }
        now = _model!.Preview(Call(c, id, phys, size), c.PhysAddrs, c.Lengths);
        return true;
    }

    static ulong PagesOf(ulong dma, ulong size) => ((dma & 0xFFF) + Math.Max(size, 1) + 0xFFF) >> 12;

    static ulong SgOrSize(TraceRecord x)
    {
        if (x.Kind != TraceEventKind.DmaMapSg) return x.Size;
        ulong s = 0;
        foreach (ulong l in x.Lengths) s += l;
        return s;
    }

    /// <summary>The range cache class alloc_iova_fast() serves a size from (sizes below 32 pages are rounded up to a
    /// power of two, Linux: drivers/iommu/iova.c); -1 for sizes the tree serves.</summary>
    static int SizeClass(ulong pages)
    {
        if (pages == 0) return -1;
        int order = pages <= 1 ? 0 : 64 - System.Numerics.BitOperations.LeadingZeroCount(pages - 1);
        return order < Iova.IovaDomain.RangeCacheMaxSize ? order : -1;
    }

    /// <summary>One compared call: counts it, as inferred when its place or its allocator state rested on a choice.</summary>
    void CountCompared(TraceRecord r, int device, bool matched)
    {
        _fidelity.Compared++;
        if (matched) _fidelity.Matched++;
        if (_model!.LastCorrection != 0) _fidelity.Resynced++;
        bool inferred = r.OrderInferred || _model!.Infers(device);
        if (inferred)
        {
            _fidelity.Inferred++;
            if (matched) _fidelity.InferredMatched++;
        }
        if (r.Line == _opt.ExplainLine)
            _explain?.Add($"compared with the kernel's address: {(matched ? "equal" : "different")}, " +
                          (inferred ? "inferred (the order or the flush instants it rests on were chosen, not read)" : "determined by the trace's order"));
    }

    void DrainWindow()
    {
        if (_window is null) return;
        while (_window.Count > 0) ProcessWindowHead();
    }

    bool _sawDmaApi;

    /// <summary>Whether the iommu:* events went to <see cref="ReplayOptions.IommuLayer"/>: it was asked for and no dma:*
    /// event came (the DMA API is traced since Linux 6.12, and then the replay compares at that layer).</summary>
    public bool IommuLayerFed => _opt.IommuLayer is not null && !_sawDmaApi;

    /// <summary>Map calls replayed ahead of an interrupt traced inside them (see <see cref="ReplayReorderWindow"/>).</summary>
    public long ReorderedCalls => _window?.Reordered ?? 0;

    /// <summary>Calls replayed ahead of an interrupt because the model's preview said only that order gives their
    /// traced address.</summary>
    public long FloatedCalls => _window?.Floated ?? 0;

    /// <summary>The reader's notes on the input, and what the replay inferred that the input does not say.</summary>
    List<string> InputNotes(TraceReadStats? stats)
    {
        var notes = stats?.Notes.ToList() ?? new();
        if (_window is { InferredIrqs: > 0 } w)
            notes.Add($"no irq-flags column: {w.InferredIrqs:N0} unmap record(s) traced inside a map call of the task they name " +
                      "taken as interrupts (trace-cmd report -l prints the column)");
        return notes;
    }

    void ProcessCore(TraceRecord r)
    {
        if (r.Line == _opt.ExplainLine && _explain is not null)
            _explain.Add($"line {r.Line}: {r.EventName} by {r.Task}-{r.Pid} on CPU {r.Cpu} at {(r.IrqLevel == 2 ? "hardirq" : r.IrqLevel == 1 ? "softirq" : "task")} level" +
                         (r.Device.Length > 0 ? $", device {r.Device}" : "") + $" (record {_events + 1:N0} in replay order)");
        _events++;
        if (_model is not null) NoteRecent(r);
        ulong ns = r.TimestampNs;
        if (!_anyTime) { _firstNs = ns; _anyTime = true; }
        if (ns > _lastNs) _lastNs = ns;
        if (_counterSource is not null && ns >= _nextCounterNs)
        {
            _counterSource.SampleCounters(ns, _observer!);
            _nextCounterNs = ns + IReplayCounterSource.IntervalNs;
        }
        if (_phase is { } ph) ph.Events++;
        else if (_phases.Count == 0 && r.Kind != TraceEventKind.TracingMarkWrite)
        {
            _phase = new ReplayPhase { Name = "(start)", Line = r.Line, StartNs = ns, EndNs = ns, Events = 1 };
            _phases.Add(_phase);
        }

        switch (r.Kind)
        {
            case TraceEventKind.DmaMapPhys:
            case TraceEventKind.DmaMapResource: OnMapSingle(r); break;
            case TraceEventKind.DmaUnmapPhys:
            case TraceEventKind.DmaUnmapResource: OnUnmapSingle(r); break;
            case TraceEventKind.DmaMapSg: OnMapSg(r); break;
            case TraceEventKind.DmaUnmapSg: OnUnmapSg(r); break;
            case TraceEventKind.DmaMapSgErr:
            {
                var d = Device(r);
                d.MapErrors++;
                Proc(r).MapErrors++;
                AddFinding("map-sg-error", r, d.Name, r.PhysAddrs.IsEmpty ? 0 : r.PhysAddrs[0],
                    $"dma_map_sg failed with error {r.Error} for {r.PhysAddrs.Length} entries");
                break;
            }
            case TraceEventKind.DmaAlloc:
            case TraceEventKind.DmaAllocPages:
            case TraceEventKind.DmaAllocSgt: OnAlloc(r); break;
            case TraceEventKind.DmaAllocSgtErr:
            {
                var d = Device(r);
                d.MapErrors++;
                AddFinding("alloc-error", r, d.Name, 0, $"dma_alloc_noncontiguous failed for {r.Size} bytes");
                break;
            }
            case TraceEventKind.DmaFree:
            case TraceEventKind.DmaFreePages:
            case TraceEventKind.DmaFreeSgt: OnFree(r); break;
            case TraceEventKind.DmaSyncSingleForCpu:
            case TraceEventKind.DmaSyncSingleForDevice:
            case TraceEventKind.DmaSyncSgForCpu:
            case TraceEventKind.DmaSyncSgForDevice: OnSync(r); break;
            case TraceEventKind.SwiotlbBounced: OnBounced(r); break;
            case TraceEventKind.IommuMap: OnIommuMap(r); OnLayerMap(r); if (IommuLayerFed) _opt.IommuLayer!.OnMap(r); break;
            case TraceEventKind.IommuUnmap: OnIommuUnmap(r); if (IommuLayerFed) _opt.IommuLayer!.OnUnmap(r); break;
            case TraceEventKind.IommuIoPageFault:
            {
                var d = Device(r);
                d.IoPageFaults++;
                AddFinding("io-page-fault", r, d.Name, r.DmaAddr,
                    $"IOMMU fault at IOVA 0x{r.DmaAddr:x} (flags 0x{r.FaultFlags:x}, driver {r.Driver})");
                break;
            }
            case TraceEventKind.IommuAddDeviceToGroup:
                Device(r).IommuGroup = r.GroupId;
                if (IommuLayerFed) _opt.IommuLayer!.OnAttach(r);
                break;
            case TraceEventKind.IommuRemoveDeviceFromGroup: break;
            case TraceEventKind.IommuAttachDeviceToDomain:
                Device(r).AttachedToDomain = true;
                if (IommuLayerFed) _opt.IommuLayer!.OnAttach(r);
                _attachedByPid[r.Pid] = r.Device;
                break;
            case TraceEventKind.IommuDetachDeviceFromDomain: break;
            case TraceEventKind.TracingMarkWrite: OnMarker(r); break;
            case TraceEventKind.TimerStart:
            case TraceEventKind.TimerExpireEntry: OnFlushTimer(r); break;
        }
    }

    // A few recently seen device names by reference: trace records reuse interned strings, so the common case
    // costs reference compares instead of hashing the name.
    readonly string?[] _devCacheName = new string?[4];
    readonly int[] _devCacheId = new int[4];
    int _devCacheNext;

    ReplayDeviceStats Device(TraceRecord r)
    {
        string name = r.Device;
        int id = -1;
        for (int i = 0; i < _devCacheName.Length; i++)
            if (ReferenceEquals(_devCacheName[i], name)) { id = _devCacheId[i]; break; }
        if (id < 0)
        {
            id = _deviceNames.Intern(name);
            if (id == _devices.Count)
            {
                _devices.Add(new ReplayDeviceStats { Id = id, Name = name });
                _freeLanes.Add(new PriorityQueue<int, int>());
                _laneCount.Add(0);
                _model?.AddDevice(id, name);
                _observer?.OnDevice(id, name);
            }
            _devCacheName[_devCacheNext] = name;
            _devCacheId[_devCacheNext] = id;
            _devCacheNext = (_devCacheNext + 1) & 3;
        }
        var d = _devices[id];
        d.Touch(r.TimestampNs);
        return d;
    }

    ReplayProcessStats Proc(TraceRecord r)
    {
        if (r.Pid == _lastPid)
        {
            var last = _processes[_lastProcess];
            last.Touch(r.TimestampNs);
            return last;
        }
        if (!_processByPid.TryGetValue(r.Pid, out int idx))
        {
            if (_processes.Count >= _opt.MaxProcesses)
            {
                if (_otherProcess < 0)
                {
                    _otherProcess = _processes.Count;
                    _processes.Add(new ReplayProcessStats { Pid = -1, Task = "(other)", Name = "(other)" });
                }
                idx = _otherProcess;
            }
            else
            {
                idx = _processes.Count;
                _processes.Add(new ReplayProcessStats { Pid = r.Pid, Task = r.Task, Name = $"{r.Task}-{r.Pid}" });
                _processByPid.Add(r.Pid, idx);
            }
        }
        _lastPid = r.Pid;
        _lastProcess = idx;
        var p = _processes[idx];
        p.Touch(r.TimestampNs);
        return p;
    }

    int TakeLane(int device)
    {
        if (_observer is null) return 0;
        var q = _freeLanes[device];
        if (q.TryDequeue(out int lane, out _)) return lane;
        return _laneCount[device]++;
    }

    void ReleaseLane(int device, int lane)
    {
        if (_observer is null) return;
        _freeLanes[device].Enqueue(lane, lane);
    }

    void AddFinding(string kind, TraceRecord r, string device, ulong addr, string message)
    {
        if (_inView) _sites.OnFinding(r.Stack, device);
        AddFinding(kind, device, addr, message, r.Line);
    }

    void AddFinding(string kind, string device, ulong addr, string message, long line)
    {
        if (!_inView) return;
        long n = _findingCounts.GetValueOrDefault(kind) + 1;
        _findingCounts[kind] = n;
        ref var g = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_findingGroups, (kind, device), out bool seen);
        if (!seen) g.FirstLine = line;
        g.Count++;
        if (n <= _opt.MaxFindingsPerKind) _findings.Add(new Finding(kind, device, addr, message, line));
        if (_observer is not null) _observer.OnInstant(_devices.FindIndex(x => x.Name == device), _lastNs, kind, message, line);
    }

    /// <summary>Tells the observer a device's live streaming mappings and bytes after a map or unmap.</summary>
    void ObserveLive(ReplayDeviceStats d, ulong ns)
    {
        if (_observer is null) return;
        _observer.OnCounter(ReplayCounterKind.LiveMappings, d.Id, d.Name, ns, d.LiveMappings);
        _observer.OnCounter(ReplayCounterKind.LiveBytes, d.Id, d.Name, ns, d.LiveBytes);
    }

    readonly Dictionary<(string Kind, string Device), (long Count, long FirstLine)> _findingGroups = new();

    void Mismatch(TraceRecord r, ulong expected, ulong got)
    {
        if (!_inView) return;
        string exp = $"0x{expected:x}", gotText = got == ulong.MaxValue ? "DMA_MAPPING_ERROR" : $"0x{got:x}";
        if (_fidelity.FirstMismatches.Count < _opt.MaxMismatchesListed)
            _fidelity.FirstMismatches.Add(new FidelityMismatch(r.Line, r.Device, r.EventName, exp, gotText));
        foreach (var m in _fidelity.FirstMismatchByDevice)
            if (m.Device == r.Device) return;
        _fidelity.FirstMismatchByDevice.Add(new FidelityMismatch(r.Line, r.Device, r.EventName, exp, gotText) { Context = RecentLines(r.Cpu) });
    }

    // The last few lines replayed on each CPU, for the context of a device's first mismatch.
    const int RecentPerCpu = 8;
    long[] _recent = new long[RecentPerCpu * 4];
    int[] _recentNext = new int[4];

    void NoteRecent(TraceRecord r)
    {
        int cpu = r.Cpu < 0 ? 0 : r.Cpu;
        if (cpu >= _recentNext.Length)
        {
            if (cpu >= 4096) return;
            int n = Math.Max(cpu + 1, _recentNext.Length * 2);
            Array.Resize(ref _recentNext, n);
            Array.Resize(ref _recent, n * RecentPerCpu);
        }
        _recent[cpu * RecentPerCpu + (_recentNext[cpu]++ & (RecentPerCpu - 1))] = r.Line;
    }

    List<long> RecentLines(int cpu)
    {
        var list = new List<long>(RecentPerCpu);
        if (cpu < 0 || cpu >= _recentNext.Length) return list;
        int next = _recentNext[cpu];
        for (int k = Math.Max(0, next - RecentPerCpu); k < next; k++) list.Add(_recent[cpu * RecentPerCpu + (k & (RecentPerCpu - 1))]);
        return list;
    }

    ReplayCall Call(TraceRecord r, int device, ulong phys, ulong size, ulong modelDma = 0, bool bounced = false)
    {
        var d = _devices[device];
        return new()
        {
            Kind = r.Kind, DeviceId = device, Device = r.Device, Cpu = r.Cpu, Pid = r.Pid, TimestampNs = r.TimestampNs,
            Line = r.Line, Phys = phys, Size = size, Dir = r.Dir, Attrs = r.Attrs, ModelDmaAddr = new DmaAddr(modelDma),
            TraceDmaAddr = new DmaAddr(r.DmaAddr), FullNents = r.FullNents, Gfp = r.Gfp, IrqLevel = r.IrqLevel,
            IommuMaps = PendingIommuMaps(r), Bounced = bounced, TraceDmaMask = d.DmaMask ?? 0,
            InIommuGroup = d.IommuGroup is not null || d.AttachedToDomain,
        };
    }

    /// <summary>An iommu:map the IOMMU layer made for itself (no DMA-API call covers it): the model allocates it too.</summary>
    void OnLayerMap(TraceRecord r)
    {
        if (_model is null || _window is null) return;
        string? owner = _window.LayerMapOwner(r, out bool noCall);
        // No call in view: the device this task attached to a domain (a probe mapping its MSI doorbell), if any.
        if (owner is null && noCall) owner = _attachedByPid.TryGetValue(r.Pid, out var a) ? a : null;
        if (string.IsNullOrEmpty(owner)) return;
        ulong got = _model.LayerMap(owner, r.PhysAddr, r.Size, r.Cpu, r.Iova);
        if (got == 0) return;
        _fidelity.ComparedLayerMaps++;
        if (got == r.Iova) _fidelity.MatchedLayerMaps++;
        else Mismatch(r, r.Iova, got);
    }

    // ---- dma-debug's overlapping-cacheline check (Linux: kernel/dma/debug.c, active_cacheline_insert()) --------

    bool TrackCacheline(TraceRecord r, string device, ulong phys, out ulong cln)
    {
        cln = phys >> _cachelineShift;
        // Only mappings the device may write are tracked; the driver can opt out of the check.
        if (r.Dir == DmaDirection.ToDevice) return false;
        if ((r.Attrs & (DmaAttrs.SkipCpuSync | DmaAttrs.CachelinesOverlap | DmaAttrs.CpuCacheClean)) != 0) return false;
        ref int count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_cachelines, cln, out bool exists);
        if (exists && count > 0)
            AddFinding("cacheline-overlap", r, device, phys,
                $"cacheline 0x{cln << _cachelineShift:x} is already mapped for DMA: overlapping mappings aren't supported (dma-debug EEXIST)");
        count++;
        return true;
    }

    void UntrackCacheline(ulong cln)
    {
        if (_cachelines.TryGetValue(cln, out int c))
        {
            if (c <= 1) _cachelines.Remove(cln);
            else _cachelines[cln] = c - 1;
        }
    }

    void PhaseMap(ulong bytes)
    {
        _liveMappings++;
        if (_phase is { } ph)
        {
            ph.Maps++;
            ph.BytesMapped += bytes;
            if (_liveMappings > ph.PeakLiveMappings) ph.PeakLiveMappings = _liveMappings;
        }
    }

    void PhaseUnmap(bool matched)
    {
        if (matched) _liveMappings--;
        if (_phase is { } ph) ph.Unmaps++;
    }

    /// <summary>The flush queue's own timer (the reader keeps only function=fq_flush_timeout records).</summary>
    void OnFlushTimer(TraceRecord r)
    {
        _flushTimerEvents++;
        if (_model is not IReplayFlushTimer t || r.TimerFunction != TraceEventNames.FqFlushTimeout) return;
        var e = new ReplayTimerEvent(r.Cpu, r.TimestampNs, r.TimerJiffies, r.TimerBucket, r.TimerCpu, r.Line);
        if (r.Kind == TraceEventKind.TimerStart) t.FlushTimerStarted(e);
        else t.FlushTimerExpired(e);
    }

    long _flushTimerEvents;

    void OnMarker(TraceRecord r)
    {
        ulong ns = r.TimestampNs;
        if (_phase is { } cur) { cur.EndNs = ns; cur.LiveMappingsAtEnd = _liveMappings; }
        _observer?.OnInstant(-1, ns, r.Message, "tracing_mark_write", r.Line);
        if (_phases.Count >= _opt.MaxPhases) { _droppedPhases++; _phase = null; return; }
        _phase = new ReplayPhase
        {
            Name = r.Message, Line = r.Line, StartNs = ns, EndNs = ns,
            LiveMappingsAtStart = _liveMappings, PeakLiveMappings = _liveMappings,
        };
        _phases.Add(_phase);
    }
}
