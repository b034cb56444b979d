using DmaLab.DmaIommu;
using DmaLab.Iova;
using DmaLab.Sim;
using DmaLab.Trace;

namespace DmaLab.Replay;

public sealed partial class MachineReplayModel : IReplayFlushTimer
{
    // Lazy domains' flush queues in creation order, the order their timers were armed in (for the wheel's LIFO
    // buckets), and the bucket each armed timer's own timer_start printed.
    readonly List<FlushQueue> _fqs = new();
    readonly Dictionary<FlushQueue, (ulong Seq, ulong TraceBucket)> _armed = new();
    readonly Queue<FlushQueue> _awaitingStart = new();
    JiffyClock? _jiffyClock;
    FlushInstantInference? _fqInference;
    ulong _armSeq;
    bool _timerEvents;
    long _tracedFlushes, _orphanExpiries, _unmatchedStarts;

    /// <summary>The tick grid of the traced kernel (<see cref="MachineReplayOptions.Hz"/>).</summary>
    JiffyClock Jiffies => _jiffyClock ??= new JiffyClock(_opt.Hz);

    /// <summary>The trace carries the flush queue's timer events: flushes run where they were traced.</summary>
    public bool FlushTimerEventsSeen => _timerEvents;
    /// <summary>Flushes run at a traced timer_expire_entry.</summary>
    public long TracedFlushes => _tracedFlushes;

    /// <summary>A lazy domain whose flushes so far were predicted (no timer events in the trace) hands out addresses
    /// that rest on those predictions.</summary>
    public bool Infers(int deviceId) =>
        !_timerEvents && deviceId >= 0 && deviceId < _byId.Count && _byId[deviceId]?.Domain?.Fq is { Stats.TimerFlushes: > 0 };

    public ulong AfterFlush(int deviceId, ulong pages)
    {
        if (deviceId < 0 || deviceId >= _byId.Count || _byId[deviceId]?.Domain is not { Fq: { } fq } dom) return ulong.MaxValue;
        ulong pfn = fq.LastReleased(IovaMath.OrderBase2(IovaMath.RoundupPowOfTwo(Math.Max(1, pages))));
        return pfn == 0 ? ulong.MaxValue : pfn << dom.Shift;
    }

    /// <summary>What the inference of flush instants did that the user should know of.</summary>
    IEnumerable<string> InferenceNotes()
    {
        if (_corrections > 0)
            yield return $"{_corrections:N0} allocation(s) where the model's own address was wrong took the kernel's range " +
                         "(free in the model: cached on some CPU or in the tree), so the replay goes on from the kernel's state; " +
                         "each still counts as a mismatch";
        if (_fqInference is { Early: > 0 } inf)
            yield return $"{inf.Early:N0} flush(es) placed earlier than the flush-queue timer allows, because an allocation got a range " +
                         "still queued (a flush the trace does not show, or a timer armed earlier than inferred)";
        if (RivalNote() is string n) yield return n;
    }

    /// <summary>What the rival placements of inferred flushes came to (null when none was kept).</summary>
    string? RivalNote()
    {
        long spawned = 0, adopted = 0, skipped = 0;
        foreach (var fq in _fqs)
            if (fq.Rivals is { } r) { spawned += r.Spawned; adopted += r.Adopted; skipped += r.Skipped; }
        if (spawned == 0 && skipped == 0) return null;
        return $"flush placements the allocations could not yet decide kept {spawned:N0} rival(s) (other instants and CPUs); " +
               $"{adopted:N0} time(s) a later allocation showed a rival right and the domain took its state (inferred)" +
               (skipped == 0 ? "" : $"; {skipped:N0} placement(s) kept no rivals: a copy of the domain would pass {IovaRivals.MaxBytesEach >> 20} MiB");
    }

    void AddFlushQueue(FlushQueue fq)
    {
        if (_opt.Policy == ReplayPolicy.AsTraced)
        {
            // The timer fires where the trace's timer events say, or where the allocations say it must have
            // (FlushInstantInference) until timer events show up; never on the model's own clock alone.
            fq.ExternalTimer = true;
            if (!_timerEvents)
            {
                _fqInference ??= new FlushInstantInference(_opt.Hz, _opt.Cpus);
                fq.ExternalGraceNs = 10_000_000_000UL;
            }
        }
        _fqs.Add(fq);
    }

    /// <summary>Before an operation on <paramref name="d"/> that may queue an IOVA: was its timer armed?</summary>
    bool TimerArmed(Dev d, int cpu)
    {
        if (d.Domain?.Fq is not { } fq) return false;
        _fqInference?.BeforeOther(fq, _clock.NowNs, cpu);
        return fq.TimerArmed;
    }

    /// <summary>After it: a timer armed by this operation (queue_iova() found fq_timer_on clear) is noted so its
    /// timer_start line and its expiry find it.</summary>
    void NoteArm(Dev d, bool wasArmed)
    {
        if (wasArmed || d.Domain?.Fq is not { TimerArmed: true } fq) return;
        _armed[fq] = (++_armSeq, ulong.MaxValue);
        if (_timerEvents) _awaitingStart.Enqueue(fq);
    }

    void SeeTimerEvents()
    {
        if (_timerEvents || _opt.Policy != ReplayPolicy.AsTraced) return;
        _timerEvents = true;
        _fqInference = null;
        foreach (var fq in _fqs) fq.Rivals?.Clear();
        foreach (var fq in _fqs) { fq.ExternalTimer = true; fq.ExternalGraceNs = 1_000_000_000UL; }
        _notes.Add("flush-queue timers replayed from the trace's timer_start/timer_expire_entry (fq_flush_timeout) events");
    }

    public void FlushTimerStarted(in ReplayTimerEvent e)
    {
        if (_opt.Policy != ReplayPolicy.AsTraced) return;
        SeeTimerEvents();
        Jiffies.Calibrate(e.TimestampNs, e.Jiffies);
        // The queue that armed last and has not met its timer_start yet (arming and tracing are one mod_timer call).
        while (_awaitingStart.TryDequeue(out var fq))
        {
            if (!fq.TimerArmed || !_armed.TryGetValue(fq, out var a)) continue;
            _armed[fq] = (a.Seq, e.Bucket);
            return;
        }
        _unmatchedStarts++;
    }

    public void FlushTimerExpired(in ReplayTimerEvent e)
    {
        if (_opt.Policy != ReplayPolicy.AsTraced) return;
        SeeTimerEvents();
        Jiffies.Calibrate(e.TimestampNs, e.Jiffies);
        _clock.AdvanceTo(e.TimestampNs);
        // The wheel runs the earliest bucket first; timers of one bucket run newest first (hlist_add_head).
        FlushQueue? pick = null;
        ulong pickBucket = ulong.MaxValue, pickSeq = 0;
        foreach (var fq in _fqs)
        {
            if (!fq.TimerArmed || !_armed.TryGetValue(fq, out var a)) continue;
            ulong bucket = a.TraceBucket != ulong.MaxValue ? a.TraceBucket : Jiffies.Origin + fq.TimerBucket;
            if (pick is null || bucket < pickBucket || bucket == pickBucket && a.Seq > pickSeq)
            {
                pick = fq;
                pickBucket = bucket;
                pickSeq = a.Seq;
            }
        }
        if (pick is null) { _orphanExpiries++; return; }
        _armed.Remove(pick);
        pick.FlushTimeout(Cpu(e.Cpu));
        _tracedFlushes++;
    }

    void ObserveTimer(TraceRecord r)
    {
        if (r.Kind is TraceEventKind.TimerStart or TraceEventKind.TimerExpireEntry && r.TimerFunction == TraceEventNames.FqFlushTimeout)
            SeeTimerEvents();
    }
}
