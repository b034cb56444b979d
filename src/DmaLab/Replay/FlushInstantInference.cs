using DmaLab.DmaIommu;
using DmaLab.Sim;

namespace DmaLab.Replay;

/// <summary>
/// When a lazy domain's flush-queue timer ran, for a trace without timer events. queue_iova() arms the timer for
/// jiffies + msecs_to_jiffies(10); the wheel runs it at the tick of the next bucket, J+4 at HZ=250
/// (Linux: drivers/iommu/dma-iommu.c, kernel/time/timer.c), plus the timer softirq's latency, so it ran between
/// 12 and 16 ms after it was armed and usually within a fraction of a millisecond of that tick; neither the tick grid's
/// phase against the trace clock nor the latency is in the trace. The allocations of the domain tell: a range the flush
/// would have put on top of the allocation's size class (and nothing else would) says the flush had run; the address
/// the allocator gives without the flush, when the flush would have changed it, says it had not. The flush is placed
/// at the expected instant within that bracket, after the fact (<see cref="FlushQueue.FlushTimeoutAsOf"/>): entries
/// queued after it wait for the next one, and the first of them re-armed the timer. Each bracket also votes on the
/// tick grid's phase (the latest phase whose ticks all precede the brackets' ends), which sharpens the expected
/// instant of the undecided flushes. Constant memory: a few numbers per queue and per phase bin.
/// </summary>
internal sealed class FlushInstantInference
{
    const int PhaseBins = 64;
    /// <summary>Assumed time from the tick to the callback when nothing brackets it (the timer softirq runs on the
    /// tick's interrupt exit).</summary>
    public const ulong TypicalLatencyNs = 150_000;

    sealed class Bracket
    {
        public ulong ArmedNs = ulong.MaxValue;
        // Per CPU: the latest allocation there that showed the flush had not run on it.
        readonly ulong[] _notYet;
        public Bracket(int cpus) => _notYet = new ulong[Math.Max(1, cpus)];
        public ulong NotYet(int cpu) => (uint)cpu < (uint)_notYet.Length ? _notYet[cpu] : 0;
        public void SetNotYet(int cpu, ulong ns) { if ((uint)cpu < (uint)_notYet.Length) _notYet[cpu] = ns; }
        public void ClearNotYet() => Array.Clear(_notYet);
        // The last flush placed: it ran in (FlushLo, FlushHi); entries queued in between wait until an allocation
        // shows whether it ran after them.
        public ulong FlushLo, FlushHi;
        public int FlushCpu = -1;
        // Rivals spawned before this placement (they follow it, and its later moves).
        public long RivalMark;
        // The armed timer for which "it ran on time on another CPU" rivals are kept, and up to when.
        public ulong ElsewhereFor = ulong.MaxValue, ElsewhereUpTo;
    }

    readonly ulong _tickNs;
    readonly Dictionary<FlushQueue, Bracket> _brackets = new();
    readonly long[] _violations = new long[PhaseBins];
    readonly double[] _lateness = new double[PhaseBins];
    readonly double[] _slack = new double[PhaseBins];
    int _bestBin = -1;

    readonly int _cpus;

    public FlushInstantInference(int hz, int cpus)
    {
        _tickNs = 1_000_000_000UL / (ulong)Math.Max(1, hz);
        _cpus = Math.Max(1, cpus);
        if (_cpus <= AllCpusUpTo) for (int c = 0; c < _cpus; c++) _seen.Add(c);
    }

    /// <summary>Flushes placed by a bracket of allocations.</summary>
    public long Bracketed { get; private set; }
    /// <summary>Flushes placed at the expected instant because no allocation told (the next operation came late).</summary>
    public long Expected { get; private set; }
    /// <summary>The tick grid's phase as inferred so far (ns into a tick), or null before any bracket.</summary>
    public ulong? PhaseNs => _bestBin < 0 ? null : (ulong)_bestBin * _tickNs / PhaseBins;

    Bracket For(FlushQueue fq)
    {
        if (!_brackets.TryGetValue(fq, out var b)) _brackets.Add(fq, b = new Bracket(_cpus));
        if (b.ArmedNs != fq.TimerArmedNs) { b.ArmedNs = fq.TimerArmedNs; b.ClearNotYet(); }
        return b;
    }

    /// <summary>
    /// The last flush placed ran somewhere in a bracket; an allocation of a class that has entries queued inside the
    /// bracket tells whether it ran after them: it gets one of them (then it did, up to that one) or the range it
    /// would get without them (then it did not, and the bracket ends before the first of them).
    /// </summary>
    bool Resolve(FlushQueue fq, Bracket b, int cpu, int logSize, ulong withoutFlush, ulong traced)
    {
        if (cpu != b.FlushCpu || logSize < 0) return false;
        bool extended = false;
        if (traced != withoutFlush && fq.FindWaiting(traced, logSize, b.FlushLo, b.FlushHi, out ulong queued))
        {
            fq.Rivals?.ApplyOlder(q => q.ExtendFlushTo(queued), b.RivalMark);
            fq.ExtendFlushTo(queued);
            b.FlushLo = queued;
            LastPlacement += $"; moved after {queued / 1e9:F6} s by an allocation that got a range queued then";
            Extended++;
            extended = true;
        }
        else if (traced == withoutFlush && fq.FindWaiting(0, logSize, b.FlushLo, b.FlushHi, out ulong first)
                 && fq.ExtensionSurfaces(logSize, b.FlushLo, b.FlushHi, cpu))
            b.FlushHi = first;
        if (b.FlushHi <= b.FlushLo + 1) b.FlushCpu = -1;
        return extended;
    }

    /// <summary>The domain of <paramref name="fq"/> took a rival's state (<see cref="IovaRivals.Reconcile"/>): its
    /// open bracket no longer describes the queue.</summary>
    public void Adopted(FlushQueue fq)
    {
        if (!_brackets.TryGetValue(fq, out var b)) return;
        b.FlushCpu = -1;
        b.ArmedNs = ulong.MaxValue;
        LastPlacement = $"per a rival kept since: {fq.Rivals?.LastAdopted} (inferred)";
    }

    /// <summary>How the last flush was placed, for an explanation.</summary>
    public string? LastPlacement { get; private set; }

    /// <summary>Placed flushes moved later by an allocation that got a range queued inside their bracket.</summary>
    public long Extended { get; private set; }

    /// <summary>Ticks from arming to the bucket's tick (timeout + 1 at level 0 of the wheel).</summary>
    ulong BucketDelay(FlushQueue fq) => fq.TimeoutJiffies + 1;

    /// <summary>The tick of the bucket for a timer armed at <paramref name="armedNs"/> with the grid at phase
    /// <paramref name="phase"/>.</summary>
    ulong TickOf(ulong armedNs, ulong phase, ulong delay)
    {
        ulong j = armedNs < phase ? 0 : (armedNs - phase) / _tickNs;
        ulong b = phase + (j + delay) * _tickNs;
        return armedNs < phase ? b - _tickNs : b;
    }

    ulong EarliestNs(FlushQueue fq) => fq.TimerArmedNs + (BucketDelay(fq) - 1) * _tickNs;

    ulong ExpectedNs(FlushQueue fq)
    {
        ulong delay = BucketDelay(fq);
        ulong tick = PhaseNs is ulong ph ? TickOf(fq.TimerArmedNs, ph, delay)
                                         : fq.TimerArmedNs + delay * _tickNs - _tickNs / 2;
        return tick + TypicalLatencyNs;
    }

    ulong LatestNs(FlushQueue fq) => ExpectedNs(fq) + 2 * _tickNs;

    /// <summary>
    /// Before an allocation at <paramref name="nowNs"/> on <paramref name="cpu"/> in the domain of
    /// <paramref name="fq"/>, of range-cache class <paramref name="logSize"/>: <paramref name="withoutFlush"/> is the
    /// pfn the allocator gives as things stand, <paramref name="traced"/> the kernel's.
    /// </summary>
    public void BeforeAlloc(FlushQueue fq, ulong nowNs, int cpu, int logSize, ulong withoutFlush, ulong traced)
    {
        See(cpu);
        if (_brackets.TryGetValue(fq, out var last) && last.FlushCpu >= 0 && Resolve(fq, last, cpu, logSize, withoutFlush, traced))
            return; // this allocation got a range the last flush released after all
        if (!fq.TimerArmed || logSize < 0 && nowNs <= LatestNs(fq)) return;
        if (nowNs <= EarliestNs(fq)) return;
        var b = For(fq);
        // The flush frees into the rcache of the CPU whose timer softirq ran it: the one that armed it, or, when that
        // one was idle, another (kernel/time/timer_migration.c).
        ulong queued = 0, next = 0;
        bool ran = logSize >= 0 && traced != withoutFlush && fq.FindReleasable(traced, logSize, out queued, out next);
        bool notHere = !ran && logSize >= 0 && traced == withoutFlush
                       && fq.LastReleased(logSize) is ulong top && top != 0 && top != withoutFlush;
        if (ran)
        {
            // The kernel handed out a range the flush leaves on top: the flush ran on this CPU after that range was
            // queued and before the next of its class was.
            Place(fq, b, Math.Max(queued, b.NotYet(cpu)), Math.Min(nowNs, next), cpu);
            return;
        }
        if (nowNs > LatestNs(fq) && !(notHere && nowNs <= LatestNs(fq) + 6 * _tickNs))
        {
            // Overdue past every plausible latency: it ran. An allocation here that shows no effect says it had not
            // run here yet (an idle CPU's timer can run late) for a few more ticks, then that it ran elsewhere.
            PlaceExpected(fq, nowNs, notHere ? OtherCpu(b, fq.TimerCpu, cpu) : fq.TimerCpu);
            return;
        }
        if (!notHere) return;
        // Past its expected instant and not run here: it may have run on time on another CPU, whose frees this one
        // cannot see (or late here, as the allocations that follow will show).
        if (nowNs > ExpectedNs(fq)) SpawnElsewhereRivals(fq, b, cpu, nowNs);
        // It had not run here by now, or it ran before the first range of this class was queued. The tick grid
        // decides when both are possible.
        ulong lo = Math.Max(EarliestNs(fq), b.NotYet(cpu)), first = fq.FirstReleasableNs(logSize);
        if (cpu == fq.TimerCpu && first > lo + 1 && ExpectedNs(fq) < first) Place(fq, b, lo, first, cpu);
        else b.SetNotYet(cpu, nowNs);
    }

    /// <summary>Flushes placed before the earliest instant the timer rule allows, because an allocation got a range
    /// still waiting in the queue (<see cref="AfterAlloc"/>).</summary>
    public long Early { get; private set; }

    /// <summary>
    /// After <see cref="BeforeAlloc"/> and the rivals had their say, the allocator would still give
    /// <paramref name="withoutFlush"/> and the kernel gave <paramref name="traced"/>, a range that waits in the queue:
    /// a queued range is reused only once a flush that began after it was queued has finished (fq_ring_free() in
    /// drivers/iommu/dma-iommu.c), so a flush ran on this CPU since, whatever the timer rule says (the arming the model
    /// holds may be wrong, or the flush was one the trace does not show). It is placed in the bracket the allocations
    /// give, without voting on the tick grid.
    /// </summary>
    public void AfterAlloc(FlushQueue fq, ulong nowNs, int cpu, int logSize, ulong withoutFlush, ulong traced)
    {
        if (logSize < 0 || traced == withoutFlush || !fq.FindReleasable(traced, logSize, out ulong queued, out ulong next)) return;
        var b = For(fq);
        Place(fq, b, Math.Max(queued, b.NotYet(cpu)), Math.Min(nowNs, next), cpu, vote: false, early: true);
        Early++;
    }

    /// <summary>The CPU to run an overdue flush on when <paramref name="notOn"/> showed it did not run there: the arming
    /// CPU if that is another one, else the CPU with the oldest evidence against it.</summary>
    int OtherCpu(Bracket b, int armedOn, int notOn)
    {
        if (armedOn != notOn) return armedOn;
        int best = -1;
        for (int c = 0; c < _cpus; c++)
            if (c != notOn && (best < 0 || b.NotYet(c) < b.NotYet(best))) best = c;
        return best < 0 ? armedOn : best;
    }

    /// <summary>
    /// Before any other operation of the domain (an unmap). An unmap tells nothing of the flush and the flush is placed
    /// after the fact anyway, so an overdue one waits for the next allocation (which may show the CPU it ran on); only
    /// one overdue by several ticks, or a ring close to full (which would flush by itself), is placed now.
    /// </summary>
    public void BeforeOther(FlushQueue fq, ulong nowNs, int cpu)
    {
        See(cpu);
        if (!fq.TimerArmed || nowNs <= LatestNs(fq)) return;
        if (nowNs > LatestNs(fq) + 4 * _tickNs || fq.QueuedOn(cpu) >= fq.Size - 16) PlaceExpected(fq, nowNs, fq.TimerCpu);
    }

    void Place(FlushQueue fq, Bracket b, ulong ranAfterNs, ulong ranBeforeNs, int cpu, bool vote = true, bool early = false)
    {
        if (cpu != fq.TimerCpu) Remote++;
        ulong lo = early ? ranAfterNs : Math.Max(EarliestNs(fq), ranAfterNs), hi = Math.Max(lo + 2, ranBeforeNs);
        if (vote) { Vote(fq, lo, hi); Bracketed++; }
        // Release only what the bracket makes certain; the rest waits for the allocations that follow (Resolve).
        ulong at = lo + 1;
        LastPlacement = $"(timer armed at {fq.TimerArmedNs / 1e9:F6} s) placed on CPU {cpu} between {lo / 1e9:F6} and {hi / 1e9:F6} s, " +
                        (early ? "earlier than the timer allows: an allocation got a range still queued"
                         : vote ? "bracketed by what the allocations got" : "overdue with no allocation to tell") + " (inferred)";
        // The rivals kept from earlier placements follow this one; new rivals take the other instants and CPUs.
        fq.Rivals?.Apply(q => q.FlushTimeoutAsOf(at, cpu));
        long mark = fq.Rivals?.Spawned ?? 0;
        SpawnRivals(fq, at, hi, cpu);
        fq.FlushTimeoutAsOf(at, cpu);
        var nb = For(fq);
        nb.FlushLo = at;
        nb.FlushHi = hi;
        nb.FlushCpu = cpu;
        nb.RivalMark = mark;
    }

    // The CPUs a timer can have run on, for rivals: every possible CPU of a small machine; on a larger one (a header's
    // #P:N counts possible CPUs, most of which may never run) the CPUs the trace has shown working on lazy domains, in
    // the order first seen.
    const int AllCpusUpTo = 8;
    readonly List<int> _seen = new();
    ulong _seenMask;

    void See(int cpu)
    {
        if (_cpus <= AllCpusUpTo || ((uint)cpu < 64 ? (_seenMask & 1UL << cpu) != 0 : _seen.Contains(cpu))) return;
        if ((uint)cpu < 64) _seenMask |= 1UL << cpu;
        _seen.Add(cpu);
    }

    /// <summary>Instants of a placement's rivals at most (after each of the first entries queued in its bracket).</summary>
    const int MaxRivalInstants = 64;

    /// <summary>
    /// Rivals of a placement the allocations so far cannot decide (<see cref="IovaRivals"/>): the flush right after
    /// each entry queued inside the bracket (each leaves another set of entries waiting), on this CPU and on each
    /// other one, and at the bracket's start on the other CPUs. The allocations that follow refute all but one.
    /// </summary>
    void SpawnRivals(FlushQueue fq, ulong at, ulong hi, int cpu)
    {
        if (fq.Rivals is not { } rivals) return;
        Span<ulong> times = stackalloc ulong[MaxRivalInstants];
        times = times[..fq.WaitingTimes(at, hi, times)];
        if (Budget(rivals) is not long stop) return;
        // This CPU's instants first, then the other CPUs' (there also at the bracket's start).
        SpawnOn(rivals, cpu, 0, times, stop);
        foreach (int c in _seen)
            if (c != cpu && c < _cpus) SpawnOn(rivals, c, at, times, stop);
    }

    /// <summary>
    /// Rivals of an overdue flush an allocation on <paramref name="notOn"/> shows has not run there: it ran on another
    /// CPU, at each instant since its earliest one where the set of entries it leaves waiting changes. Each such
    /// allocation adds the instants since the previous one.
    /// </summary>
    void SpawnElsewhereRivals(FlushQueue fq, Bracket b, int notOn, ulong nowNs)
    {
        if (fq.Rivals is not { } rivals) return;
        bool first = b.ElsewhereFor != fq.TimerArmedNs;
        ulong lo = first ? EarliestNs(fq) : b.ElsewhereUpTo;
        if (nowNs <= lo) return;
        b.ElsewhereFor = fq.TimerArmedNs;
        b.ElsewhereUpTo = nowNs;
        Span<ulong> times = stackalloc ulong[MaxRivalInstants];
        times = times[..fq.WaitingTimes(lo, nowNs, times)];
        if (Budget(rivals) is not long stop) return;
        foreach (int c in _seen)
            if (c != notOn && c < _cpus) SpawnOn(rivals, c, first ? lo + 1 : 0, times, stop);
    }

    /// <summary>The spawn count at which one placement's rivals stop (what may live at once), or null, counted as not
    /// kept, when a copy of the domain is too large to keep any.</summary>
    static long? Budget(IovaRivals rivals)
    {
        int capacity = rivals.Capacity;
        if (capacity > 0) return rivals.Spawned + capacity;
        rivals.NotKept();
        return null;
    }

    /// <summary>Rivals with the flush on <paramref name="cpu"/> at <paramref name="start"/> (unless 0), then at each of
    /// <paramref name="times"/>, until <paramref name="stop"/> rivals were spawned.</summary>
    static void SpawnOn(IovaRivals rivals, int cpu, ulong start, ReadOnlySpan<ulong> times, long stop)
    {
        if (start != 0 && rivals.Spawned < stop) SpawnRival(rivals, start, cpu);
        foreach (ulong t in times)
        {
            if (rivals.Spawned >= stop) return;
            SpawnRival(rivals, t, cpu);
        }
    }

    static void SpawnRival(IovaRivals rivals, ulong flushNs, int cpu) =>
        rivals.Spawn(q => q.FlushTimeoutAsOf(flushNs, cpu), $"the flush ran at {flushNs / 1e9:F6} s on CPU {cpu}");

    /// <summary>An overdue flush no allocation has bracketed: it ran after the last evidence against it and before now;
    /// as with a bracket, what was queued in between waits for the allocations that follow.</summary>
    void PlaceExpected(FlushQueue fq, ulong nowNs, int cpu)
    {
        var b = For(fq);
        Place(fq, b, Math.Max(EarliestNs(fq), b.NotYet(cpu)), nowNs, cpu, vote: false);
        Expected++;
    }

    /// <summary>Flushes placed on another CPU than the one that armed the timer.</summary>
    public long Remote { get; private set; }

    /// <summary>
    /// A flush known to have run in (lo, hi): for each phase of the grid, whether its bucket's tick falls after hi
    /// (impossible), how late after the tick it ran at least (lo - tick), and how far the tick lies before hi. The phase
    /// kept has the fewest impossibilities, then the least lateness (the softirq runs soon after the tick), then the
    /// least slack (of the phases that explain every bracket, the one whose ticks sit closest before them).
    /// </summary>
    void Vote(FlushQueue fq, ulong lo, ulong hi)
    {
        ulong delay = BucketDelay(fq);
        int best = -1;
        for (int k = 0; k < PhaseBins; k++)
        {
            ulong tick = TickOf(fq.TimerArmedNs, (ulong)k * _tickNs / PhaseBins, delay);
            if (tick > hi) _violations[k]++;
            else
            {
                if (lo > tick) _lateness[k] += lo - tick;
                _slack[k] += hi - tick;
            }
            if (best < 0 || Better(k, best)) best = k;
        }
        _bestBin = best;
    }

    bool Better(int a, int b)
    {
        if (_violations[a] != _violations[b]) return _violations[a] < _violations[b];
        double la = _lateness[a] + 0.01 * _slack[a], lb = _lateness[b] + 0.01 * _slack[b];
        return la < lb;
    }
}
