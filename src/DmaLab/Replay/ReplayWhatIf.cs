using DmaLab.Dma;
using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>The what-if section of a replay report: the traced configuration's cost next to the alternative's.</summary>
public sealed class ReplayWhatIfReport
{
    /// <summary>The alternative's policy ("strict", "lazy", "passthrough", "swiotlb-force").</summary>
    public string Policy { get; set; } = "";
    /// <summary>IOMMU family the alternative put the devices behind (null = as inferred).</summary>
    public string? Iommu { get; set; }
    public ReplayModelStats Original { get; set; } = new();
    public ReplayModelStats WhatIf { get; set; } = new();
    /// <summary>Original estimated time / what-if estimated time (above 1: the alternative is cheaper; 0 when the
    /// what-if charged no time while the original did).</summary>
    public double EstimatedSpeedup { get; set; }
    public List<string> Notes { get; set; } = new();
}

/// <summary>
/// Re-runs the trace's calls on another configuration while the replay goes on: every call goes to the primary model
/// (the traced machine, whose addresses are compared with the kernel's) and to a <see cref="MachineWhatIfModel"/>: a
/// booted <see cref="Machine"/> with the what-if <see cref="ReplayPolicy"/> / IOMMU family, whose device accesses and
/// driver work are measured. The alternative chooses its own addresses; the
/// mapping between the primary's and its own is kept per live mapping so unmaps, frees and syncs reach the right one.
/// </summary>
public sealed class ReplayWhatIf : IReplayModel, ITraceEvidence, ITracedSgSegments, IReplayFlushTimer, IReplayExplain, IReplayCounterSource
{
    readonly IReplayModel _primary;
    readonly MachineWhatIfModel _alt;
    // (device, table, primary dma) -> the alternative's dma addresses and sizes of the live mappings, newest last (the
    // same primary address may be live more than once, e.g. dma-direct mapping one buffer twice; an unmap takes the
    // newest of its size, so two live mappings of one buffer with different sizes reach the right alternative).
    readonly Dictionary<(int Dev, byte Table, ulong Dma), List<(ulong Alt, ulong Size)>> _live = new();
    readonly Stack<List<(ulong Alt, ulong Size)>> _free = new();
    readonly ulong[] _altSg = new ulong[TraceRecord.TraceMaxEntries];
    readonly ulong[] _altSgLen = new ulong[TraceRecord.TraceMaxEntries];

    public ReplayWhatIf(IReplayModel primary, MachineReplayOptions whatIf)
    {
        _primary = primary ?? throw new ArgumentNullException(nameof(primary));
        if (whatIf.Policy == ReplayPolicy.AsTraced && whatIf.IommuModel is null)
            throw new ArgumentException("a what-if needs a policy other than as-traced or an IOMMU model", nameof(whatIf));
        _alt = new MachineWhatIfModel(whatIf);
        if (primary is MachineReplayModel traced) _alt.InferredFamily = traced.FamilyIfKnown;
    }

    public IReplayModel Primary => _primary;

    /// <summary>The traced machine's counters and the what-if's IOTLB misses.</summary>
    public void SampleCounters(ulong ns, IReplayObserver observer)
    {
        (_primary as IReplayCounterSource)?.SampleCounters(ns, observer);
        _alt.SampleCounters(ns, observer);
    }
    public MachineWhatIfModel Alternative => _alt;
    public string Name => _primary.Name;

    public int Cpus { set { _alt.Cpus = value; if (_primary is MachineReplayModel m) m.Cpus = value; } }

    void Push(int dev, byte table, ulong primaryDma, ulong altDma, ulong size)
    {
        var key = (dev, table, primaryDma);
        if (!_live.TryGetValue(key, out var s)) _live.Add(key, s = _free.Count > 0 ? _free.Pop() : new List<(ulong, ulong)>(2));
        s.Add((altDma, size));
    }

    ulong Pop(int dev, byte table, ulong primaryDma, ulong size)
    {
        var key = (dev, table, primaryDma);
        if (!_live.TryGetValue(key, out var s) || s.Count == 0) return ulong.MaxValue;
        int i = s.Count - 1;
        for (int k = s.Count - 1; k >= 0; k--) if (s[k].Size == size) { i = k; break; }
        ulong v = s[i].Alt;
        s.RemoveAt(i);
        if (s.Count == 0) { _live.Remove(key); _free.Push(s); }
        return v;
    }

    ulong Peek(int dev, byte table, ulong primaryDma) =>
        _live.TryGetValue((dev, table, primaryDma), out var s) && s.Count > 0 ? s[^1].Alt : ulong.MaxValue;

    public bool DefersFrees(string device) => _primary.DefersFrees(device);
    public void ExplainLine(long line, Action<string> say) => (_primary as IReplayExplain)?.ExplainLine(line, say);
    public bool Infers(int deviceId) => _primary.Infers(deviceId);
    public ulong AfterFlush(int deviceId, ulong pages) => _primary.AfterFlush(deviceId, pages);
    public ulong Preview(in ReplayCall call, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> traceLengths) =>
        _primary.Preview(call, phys, traceLengths);

    // The trace's flush-queue timers belong to the traced machine; the alternative keeps its own.
    public void FlushTimerStarted(in ReplayTimerEvent e) => (_primary as IReplayFlushTimer)?.FlushTimerStarted(e);
    public void FlushTimerExpired(in ReplayTimerEvent e) => (_primary as IReplayFlushTimer)?.FlushTimerExpired(e);

    public void AddDevice(int deviceId, string name) { _primary.AddDevice(deviceId, name); _alt.AddDevice(deviceId, name); }

    public DmaAddr Map(in ReplayCall call)
    {
        var p = _primary.Map(call);
        var a = _alt.Map(call);
        if (!p.IsError) Push(call.DeviceId, 0, p.Value, a.Value, call.Size);
        else if (!a.IsError) _alt.Unmap(call with { ModelDmaAddr = a });
        return p;
    }

    public void Unmap(in ReplayCall call)
    {
        _primary.Unmap(call);
        ulong a = Pop(call.DeviceId, 0, call.ModelDmaAddr.Value, call.Size);
        if (a != ulong.MaxValue) _alt.Unmap(call with { ModelDmaAddr = new DmaAddr(a) });
    }

    public int MapSg(in ReplayCall call, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> traceLengths, Span<ulong> dmaAddrs, Span<ulong> dmaLengths)
    {
        int p = _primary.MapSg(call, phys, traceLengths, dmaAddrs, dmaLengths);
        int a = _alt.MapSg(call, phys, traceLengths, _altSg, _altSgLen);
        if (p > 0) Push(call.DeviceId, 1, dmaAddrs[0], a > 0 ? _altSg[0] : ulong.MaxValue, 0);
        return p;
    }

    public void UnmapSg(in ReplayCall call, ReadOnlySpan<ulong> phys)
    {
        _primary.UnmapSg(call, phys);
        ulong a = Pop(call.DeviceId, 1, call.ModelDmaAddr.Value, 0);
        if (a != ulong.MaxValue) _alt.UnmapSg(call with { ModelDmaAddr = new DmaAddr(a) }, phys);
    }

    public DmaAddr Alloc(in ReplayCall call, out bool comparable)
    {
        var p = _primary.Alloc(call, out comparable);
        var a = _alt.Alloc(call, out _);
        if (!p.IsError) Push(call.DeviceId, 2, p.Value, a.Value, call.Size);
        return p;
    }

    public void Free(in ReplayCall call)
    {
        _primary.Free(call);
        ulong a = Pop(call.DeviceId, 2, call.ModelDmaAddr.Value, call.Size);
        if (a != ulong.MaxValue) _alt.Free(call with { ModelDmaAddr = new DmaAddr(a) });
    }

    public void Sync(in ReplayCall call)
    {
        _primary.Sync(call);
        ulong a = Peek(call.DeviceId, 0, call.ModelDmaAddr.Value);
        if (a != ulong.MaxValue) _alt.Sync(call with { ModelDmaAddr = new DmaAddr(a) });
    }

    public ulong LayerMap(string device, ulong paddr, ulong size, int cpu, ulong traceIova)
    {
        _alt.LayerMap(device, paddr, size, cpu, traceIova);
        return _primary.LayerMap(device, paddr, size, cpu, traceIova);
    }

    public void Bounced(in ReplayCall call)
    {
        _primary.Bounced(call);
        _alt.Bounced(call);
    }

    public void Observe(TraceRecord r) => (_primary as ITraceEvidence)?.Observe(r);

    public void SetTracedSgSegments(ReadOnlySpan<ulong> dmaAddrs) => (_primary as ITracedSgSegments)?.SetTracedSgSegments(dmaAddrs);

    /// <summary>The section for the report; <paramref name="original"/> is the primary's cost (null when the primary is
    /// not a <see cref="MachineReplayModel"/>).</summary>
    public ReplayWhatIfReport Report(ReplayModelStats? original)
    {
        var w = _alt.Stats();
        var o = original ?? new ReplayModelStats();
        var notes = _alt.Notes.ToList();
        // JSON has no infinity: a what-if that charged no virtual time (dma-direct, bypass) gets speedup 0 and says why.
        double speedup = w.EstimatedNs == 0 ? (o.EstimatedNs == 0 ? 1 : 0) : (double)o.EstimatedNs / w.EstimatedNs;
        if (w.EstimatedNs == 0 && o.EstimatedNs != 0)
            notes.Add("estimated speedup undefined (reported as 0): the what-if charged no virtual time (no IOMMU or bounce work)");
        notes.Add("what-if figures measured on a booted machine; assumed device accesses (translation only, no data moved): one per 4 KiB page of each streaming mapping at its map and at each sync_for_device (a read for TO_DEVICE, a write for FROM_DEVICE, both for BIDIRECTIONAL), and one read and one write per page of each coherent allocation when it is made; the as-traced column's IOTLB figures are estimated");
        return new ReplayWhatIfReport
        {
            Policy = w.Policy,
            Iommu = w.Iommu,
            Original = o,
            WhatIf = w,
            EstimatedSpeedup = speedup,
            Notes = notes,
        };
    }
}
