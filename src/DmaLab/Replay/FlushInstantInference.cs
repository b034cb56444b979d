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
        public ulong NotYetNs;
        // The last flush placed: it ran in (FlushLo, FlushHi); entries queued in between wait until an allocation
        // shows whether it ran after them.
        public ulong FlushLo, FlushHi;
        public int FlushCpu = -1;
    }

    readonly ulong _tickNs;
    readonly Dictionary<FlushQueue, Bracket> _brackets = new();
    readonly long[] _violations = new long[PhaseBins];
    readonly double[] _lateness = new double[PhaseBins];
    readonly double[] _slack = new double[PhaseBins];
    int _bestBin = -1;

    public FlushInstantInference(int hz) => _tickNs = 1_000_000_000UL / (ulong)Math.Max(1, hz);

    /// <summary>Flushes placed by a bracket of allocations.</summary>
    public long Bracketed { get; private set; }
    /// <summary>Flushes placed at the expected instant because no allocation told (the next operation came late).</summary>
    public long Expected { get; private set; }
    /// <summary>The tick grid's phase as inferred so far (ns into a tick), or null before any bracket.</summary>
    public ulong? PhaseNs => _bestBin < 0 ? null : (ulong)_bestBin * _tickNs / PhaseBins;

    Bracket For(FlushQueue fq)
    {
        if (!_brackets.TryGetValue(fq, out var b)) _brackets.Add(fq, b = new Bracket());
        if (b.ArmedNs != fq.TimerArmedNs) { b.ArmedNs = fq.TimerArmedNs; b.NotYetNs = 0; }
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
            fq.ExtendFlushTo(queued);
            b.FlushLo = queued;
            Extended++;
            extended = true;
        }
        else if (traced == withoutFlush && fq.FindWaiting(0, logSize, b.FlushLo, b.FlushHi, out ulong first))
            b.FlushHi = first;
        if (b.FlushHi <= b.FlushLo + 1) b.FlushCpu = -1;
        return extended;
    }

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
        if (_brackets.TryGetValue(fq, out var last) && last.FlushCpu >= 0 && Resolve(fq, last, cpu, logSize, withoutFlush, traced))
            return; // this allocation got a range the last flush released after all
        if (!fq.TimerArmed) return;
        if (nowNs > LatestNs(fq)) { PlaceExpected(fq, nowNs); return; }
        if (nowNs <= EarliestNs(fq)) return;
        // The flush frees into the rcache of the CPU that ran the timer (the one that armed it).
        if (cpu != fq.TimerCpu || logSize < 0) return;
        var b = For(fq);
        if (traced != withoutFlush && fq.FindReleasable(traced, logSize, out ulong queued, out ulong next))
        {
            // The kernel handed out a range the flush would leave on top: the flush ran after that range was queued
            // and before the next of its class was.
            Place(fq, b, Math.Max(queued, b.NotYetNs), Math.Min(nowNs, next));
        }
        else if (traced == withoutFlush && fq.LastReleased(logSize) is ulong top && top != 0 && top != withoutFlush)
        {
            // The flush would have put a range of this class on top: it had not run by now, or it ran before the
            // first of them was queued. The tick grid decides when both are possible.
            ulong lo = Math.Max(EarliestNs(fq), b.NotYetNs), first = fq.FirstReleasableNs(logSize);
            if (first > lo + 1 && ExpectedNs(fq) < first) Place(fq, b, lo, first);
            else b.NotYetNs = nowNs;
        }
    }

    /// <summary>Before any other operation of the domain (an unmap): a flush overdue past every plausible latency is
    /// placed at its expected instant.</summary>
    public void BeforeOther(FlushQueue fq, ulong nowNs)
    {
        if (fq.TimerArmed && nowNs > LatestNs(fq)) PlaceExpected(fq, nowNs);
    }

    void Place(FlushQueue fq, Bracket b, ulong ranAfterNs, ulong ranBeforeNs)
    {
        ulong lo = Math.Max(EarliestNs(fq), ranAfterNs), hi = Math.Max(lo + 2, ranBeforeNs);
        Vote(fq, lo, hi);
        // Release only what the bracket makes certain; the rest waits for the allocations that follow (Resolve).
        ulong at = lo + 1;
        int cpu = fq.TimerCpu;
        fq.FlushTimeoutAsOf(at, cpu);
        var nb = For(fq);
        nb.FlushLo = at;
        nb.FlushHi = hi;
        nb.FlushCpu = cpu;
        Bracketed++;
        if (Environment.GetEnvironmentVariable("DMALAB_DEBUG_FQ") is not null) Console.Error.WriteLine($"bracket armed {fq.TimerArmedNs} lo {lo} hi {hi} at {at} phase {PhaseNs}");
    }

    void PlaceExpected(FlushQueue fq, ulong nowNs)
    {
        var b = For(fq);
        ulong at = Math.Min(Math.Max(ExpectedNs(fq), b.NotYetNs + 1), nowNs);
        if (Environment.GetEnvironmentVariable("DMALAB_DEBUG_FQ") is not null) Console.Error.WriteLine($"expected armed {fq.TimerArmedNs} notyet {b.NotYetNs} now {nowNs} at {at} phase {PhaseNs}");
        fq.FlushTimeoutAsOf(at, fq.TimerCpu);
        Expected++;
    }

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
