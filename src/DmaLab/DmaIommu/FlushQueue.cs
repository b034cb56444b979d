using DmaLab.Iova;
using DmaLab.Sim;

namespace DmaLab.DmaIommu;

/// <summary>
/// Deferred IOTLB invalidation for a lazy (DMA_FQ) domain, exact to Linux drivers/iommu/dma-iommu.c: unmapped IOVAs
/// wait in rings (one per CPU of IOVA_DEFAULT_FQ_SIZE entries, or one shared ring of IOVA_SINGLE_FQ_SIZE) tagged with
/// the flush-start counter at queue time, and go back to the IOVA allocator only once a whole-IOTLB flush that
/// started after them has finished. A full ring forces a flush; a timer (IOVA_DEFAULT_FQ_TIMEOUT /
/// IOVA_SINGLE_FQ_TIMEOUT, in jiffies of virtual time) flushes everything otherwise.
/// </summary>
public sealed class FlushQueue
{
    /// <summary>Linux: dma-iommu.c, IOVA_DEFAULT_FQ_SIZE.</summary>
    public const int DefaultFqSize = 256;
    /// <summary>Linux: dma-iommu.c, IOVA_SINGLE_FQ_SIZE.</summary>
    public const int SingleFqSize = 32768;
    /// <summary>Linux: dma-iommu.c, IOVA_DEFAULT_FQ_TIMEOUT (ms).</summary>
    public const int DefaultFqTimeoutMs = 10;
    /// <summary>Linux: dma-iommu.c, IOVA_SINGLE_FQ_TIMEOUT (ms).</summary>
    public const int SingleFqTimeoutMs = 1000;

    struct Entry
    {
        public ulong IovaPfn;
        public ulong Pages;
        public ulong Counter;
        public int FreedTablePages;
        public ulong QueuedNs;
    }

    /// <summary>Linux: struct iova_fq: a power-of-two ring; one slot stays empty so head == tail means empty.</summary>
    sealed class Ring
    {
        public readonly Entry[] Entries;
        public readonly uint ModMask;
        public uint Head, Tail;
        public Ring(int size) { Entries = new Entry[size]; ModMask = (uint)size - 1; }
        public bool Full => ((Tail + 1) & ModMask) == Head;
        public int Count => (int)((Tail - Head) & ModMask);
    }

    readonly IovaDomain _iovad;
    readonly IIotlbFlushAll _iommu;
    readonly SimClock _clock;
    readonly JiffyClock _jiffies;
    readonly Ring[] _rings;
    readonly ulong _timeoutJiffies;
    ulong _flushStartCnt;
    ulong _flushFinishCnt;
    bool _timerOn;
    ulong _timerExpiryNs = ulong.MaxValue;
    ulong _timerBucket;
    ulong _timerArmedNs;
    int _timerCpu;
    int _flushCpu;
    ulong _lastFlushNs;
    // What the last placed flush (FlushTimeoutAsOf) and its extensions released, with the ring each came from: an
    // extension releases an entry of ring r below those of later rings, as the one flush would have.
    readonly List<(ulong Pfn, ulong Pages, int Ring)> _placed = new();
    bool _recordPlaced, _extending;
    int _freeRing;
    ulong[] _above = new ulong[16];

    /// <summary>Linux: iommu_dma_init_options() + iommu_dma_init_fq().</summary>
    /// <param name="iovad">The domain's allocator; released IOVAs go back through free_iova_fast.</param>
    /// <param name="iommu">The driver's flush_iotlb_all.</param>
    /// <param name="type">Per-CPU rings, or one shared ring when the driver shadows flushes.</param>
    /// <param name="hz">Kernel CONFIG_HZ (when no <paramref name="jiffies"/> clock is given).</param>
    /// <param name="size">Ring size override (power of two); the kernel's size for <paramref name="type"/> if 0.</param>
    /// <param name="jiffies">The tick grid the timer is armed on (shared by the domains of one machine).</param>
    public FlushQueue(IovaDomain iovad, IIotlbFlushAll iommu, SimClock clock, FlushQueueType type = FlushQueueType.PerCpu,
        int hz = 250, int size = 0, JiffyClock? jiffies = null)
    {
        _iovad = iovad ?? throw new ArgumentNullException(nameof(iovad));
        _iommu = iommu ?? throw new ArgumentNullException(nameof(iommu));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        if (hz <= 0) throw new ArgumentOutOfRangeException(nameof(hz), hz, "CONFIG_HZ must be positive");
        _jiffies = jiffies ?? new JiffyClock(hz);
        Type = type;
        Size = size != 0 ? size : type == FlushQueueType.Single ? SingleFqSize : DefaultFqSize;
        if (!IovaMath.IsPowerOfTwo((ulong)Size) || Size < 2)
            throw new ArgumentException($"flush queue size {Size} must be a power of two >= 2 (fq->mod_mask)", nameof(size));
        TimeoutMs = type == FlushQueueType.Single ? SingleFqTimeoutMs : DefaultFqTimeoutMs;
        _timeoutJiffies = IovaDomain.MsecsToJiffies(TimeoutMs, _jiffies.Hz);
        _rings = new Ring[type == FlushQueueType.Single ? 1 : iovad.Cpus];
        for (int i = 0; i < _rings.Length; i++) _rings[i] = new Ring(Size);
    }

    /// <summary>A rival hypothesis of this queue, over <paramref name="iovad"/> (a copy of this queue's domain): the
    /// same rings, counters and timer, and flushes that invalidate no IOTLB (the modelled IOMMU is the real queue's).</summary>
    public FlushQueue Rival(IovaDomain iovad)
    {
        var r = new FlushQueue(iovad, NoIotlb.Instance, _clock, Type, _jiffies.Hz, Size, _jiffies)
        {
            LatencyNs = LatencyNs, ExternalTimer = ExternalTimer, ExternalGraceNs = ExternalGraceNs,
        };
        r.CopyStateFrom(this);
        return r;
    }

    /// <summary>Host bytes a copy of this queue's rings takes.</summary>
    public long StateBytes => (long)_rings.Length * Size * System.Runtime.CompilerServices.Unsafe.SizeOf<Entry>();

    sealed class NoIotlb : IIotlbFlushAll
    {
        public static readonly NoIotlb Instance = new();
        public void FlushIotlbAll() { }
    }

    /// <summary>Makes this queue's rings, counters and timer an exact copy of <paramref name="other"/>'s (same type
    /// and size); the statistics stay this queue's own.</summary>
    public void CopyStateFrom(FlushQueue other)
    {
        if (other._rings.Length != _rings.Length || other.Size != Size)
            throw new ArgumentException("flush queues of different shape", nameof(other));
        for (int i = 0; i < _rings.Length; i++)
        {
            Array.Copy(other._rings[i].Entries, _rings[i].Entries, Size);
            _rings[i].Head = other._rings[i].Head;
            _rings[i].Tail = other._rings[i].Tail;
        }
        _flushStartCnt = other._flushStartCnt;
        _flushFinishCnt = other._flushFinishCnt;
        _timerOn = other._timerOn;
        _timerExpiryNs = other._timerExpiryNs;
        _timerBucket = other._timerBucket;
        _timerArmedNs = other._timerArmedNs;
        _timerCpu = other._timerCpu;
        _flushCpu = other._flushCpu;
        _lastFlushNs = other._lastFlushNs;
        _placed.Clear();
        _placed.AddRange(other._placed);
    }

    public FlushQueueType Type { get; }
    public int Size { get; }
    public int TimeoutMs { get; }
    /// <summary>Rings: one per CPU, or the single shared one.</summary>
    public int QueueCount => _rings.Length;
    public FlushQueueStats Stats;
    /// <summary>fq_flush_start_cnt: flushes begun.</summary>
    public ulong FlushStartCount => _flushStartCnt;
    /// <summary>fq_flush_finish_cnt: flushes completed.</summary>
    public ulong FlushFinishCount => _flushFinishCnt;
    /// <summary>Virtual time at which the flush timer fires; ulong.MaxValue when it is not armed.</summary>
    public ulong TimerExpiryNs => _timerOn ? _timerExpiryNs : ulong.MaxValue;
    /// <summary>The CPU whose timer base holds the armed timer (where its frees land in the rcaches).</summary>
    public int TimerCpu => _timerCpu;
    /// <summary>True while fq_timer_on is set.</summary>
    public bool TimerArmed => _timerOn;
    /// <summary>The jiffy (relative, <see cref="JiffyClock"/>) whose tick runs the armed timer: bucket_expiry.</summary>
    public ulong TimerBucket => _timerBucket;
    /// <summary>Virtual time the armed timer was armed at (queue_iova()'s mod_timer).</summary>
    public ulong TimerArmedNs => _timerArmedNs;
    /// <summary>Time from the tick of <see cref="TimerBucket"/> to the callback (the timer softirq's latency); the
    /// timer is due at that tick plus this.</summary>
    public ulong LatencyNs { get; set; }
    /// <summary>
    /// The timer fires only through <see cref="FlushTimeout(int)"/> (a replay with the trace's own
    /// timer_expire_entry events), not when virtual time passes its expiry; it still fires on its own once
    /// <see cref="ExternalGraceNs"/> past the expiry, so a lost event does not hold IOVAs forever.
    /// </summary>
    public bool ExternalTimer { get; set; }
    public ulong ExternalGraceNs { get; set; } = 1_000_000_000UL;

    /// <summary>The rival hypotheses of the domain's state a replay keeps (see <see cref="IovaRivals"/>); null for a
    /// rival itself or a queue outside an allocator.</summary>
    public IovaRivals? Rivals { get; init; }

    /// <summary>
    /// The distinct times entries still waiting for a flush (not covered by one begun so far) were queued in
    /// (<paramref name="lo"/>, <paramref name="hi"/>), oldest first, at most <paramref name="into"/>'s length: the
    /// instants between which a flush placed in that bracket would leave a different set waiting.
    /// </summary>
    public int WaitingTimes(ulong lo, ulong hi, Span<ulong> into)
    {
        int n = 0;
        ulong c = _flushStartCnt;
        foreach (var r in _rings)
            for (uint i = r.Head; i != r.Tail; i = (i + 1) & r.ModMask)
            {
                ref var e = ref r.Entries[i];
                if (e.Counter != c || e.QueuedNs <= lo || e.QueuedNs >= hi) continue;
                int at = 0;
                while (at < n && into[at] < e.QueuedNs) at++;
                if (at < n && into[at] == e.QueuedNs) continue;
                if (n == into.Length) { if (at == n) continue; n--; }
                for (int k = n; k > at; k--) into[k] = into[k - 1];
                into[at] = e.QueuedNs;
                n++;
            }
        return n;
    }

    /// <summary>Optional observer of every release (pfn, pages, flush-finish count at release), for tests and metrics.</summary>
    public Action<ulong, ulong, ulong>? OnRelease { get; set; }

    /// <summary>Entries queued on the ring <paramref name="cpu"/> uses (the single ring for the single-queue type).</summary>
    public int QueuedOn(int cpu) => RingFor(cpu).Count;

    /// <summary>IOVAs waiting in every ring (the queue's depth).</summary>
    public int Depth
    {
        get
        {
            int n = 0;
            foreach (var r in _rings) n += r.Count;
            return n;
        }
    }

    Ring RingFor(int cpu)
    {
        if ((uint)cpu >= (uint)_iovad.Cpus) throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"domain has {_iovad.Cpus} CPUs");
        return Type == FlushQueueType.Single ? _rings[0] : _rings[cpu];
    }

    /// <summary>
    /// Whether a timer flush now would free the entry at <paramref name="pfn"/> of range-cache class
    /// <paramref name="logSize"/>: its queue time, and the queue time of the next entry of that class it would free
    /// (ulong.MaxValue when none), between which a flush leaves it on top of the class's cache.
    /// </summary>
    public bool FindReleasable(ulong pfn, int logSize, out ulong queuedNs, out ulong nextNs)
    {
        queuedNs = nextNs = ulong.MaxValue;
        ulong counter = _flushStartCnt + 1;
        bool found = false;
        foreach (var r in _rings)
            for (uint i = r.Head; i != r.Tail; i = (i + 1) & r.ModMask)
            {
                ref var e = ref r.Entries[i];
                if (e.Counter >= counter) break;
                if (IovaMath.OrderBase2(e.Pages) != logSize) continue;
                if (e.IovaPfn == pfn) { found = true; queuedNs = e.QueuedNs; nextNs = ulong.MaxValue; }
                else if (found && e.QueuedNs > queuedNs && e.QueuedNs < nextNs) nextNs = e.QueuedNs;
            }
        return found;
    }

    /// <summary>
    /// The pfn a timer flush now would free last among the entries of range-cache class <paramref name="logSize"/>
    /// (order_base_2 of the page count): the one on top of that class's cache afterwards. 0 when none would be freed.
    /// </summary>
    public ulong LastReleased(int logSize)
    {
        ulong last = 0, counter = _flushStartCnt + 1; // the finish count once the flush is done
        foreach (var r in _rings)
            for (uint i = r.Head; i != r.Tail; i = (i + 1) & r.ModMask)
            {
                ref var e = ref r.Entries[i];
                if (e.Counter >= counter) break;
                if (IovaMath.OrderBase2(e.Pages) == logSize) last = e.IovaPfn;
            }
        return last;
    }

    /// <summary>True while an IOVA starting at <paramref name="pfn"/> waits in any ring.</summary>
    public bool Holds(ulong pfn)
    {
        foreach (var r in _rings)
            for (uint i = r.Head; i != r.Tail; i = (i + 1) & r.ModMask)
                if (r.Entries[i].IovaPfn == pfn) return true;
        return false;
    }

    /// <summary>
    /// Linux: queue_iova(): called on <paramref name="cpu"/> after the page tables no longer map the range. Frees
    /// what earlier flushes already covered, flushes if the ring is full, queues the range and arms the timer.
    /// </summary>
    public void QueueIova(int cpu, ulong pfn, ulong pages, int freedTablePages = 0)
    {
        RunExpiredTimer();
        var fq = RingFor(cpu);
        RingFree(fq, cpu);
        if (fq.Full)
        {
            Stats.FullQueueFlushes++;
            FlushIotlb();
            RingFree(fq, cpu);
        }
        uint idx = fq.Tail;
        fq.Tail = (idx + 1) & fq.ModMask;
        ref var e = ref fq.Entries[idx];
        e.IovaPfn = pfn;
        e.Pages = pages;
        e.Counter = _flushStartCnt;
        e.FreedTablePages = freedTablePages;
        e.QueuedNs = _clock.NowNs;
        Stats.Queued++;
        Stats.IovasHeld++;
        Stats.PagesHeld += (long)pages;
        Stats.TablePagesHeld += freedTablePages;
        if (fq.Count > Stats.MaxQueued) Stats.MaxQueued = fq.Count;

        if (!_timerOn) Arm(cpu, _clock.NowNs);
    }

    /// <summary>mod_timer(jiffies + msecs_to_jiffies(timeout)) on <paramref name="cpu"/>'s timer base at
    /// <paramref name="nowNs"/>; the wheel runs it at the tick of its bucket (kernel/time/timer.c rounds a level-0
    /// expiry up by one), then the softirq's latency.</summary>
    void Arm(int cpu, ulong nowNs)
    {
        _timerOn = true;
        _timerCpu = cpu;
        _timerArmedNs = nowNs;
        ulong j = _jiffies.At(nowNs);
        _timerBucket = TimerWheel.BucketExpiry(j + _timeoutJiffies, j);
        _timerExpiryNs = _jiffies.BoundaryNs(_timerBucket) + LatencyNs;
    }

    /// <summary>The flush timeout in jiffies (msecs_to_jiffies of IOVA_DEFAULT_FQ_TIMEOUT or the single queue's).</summary>
    public ulong TimeoutJiffies => _timeoutJiffies;

    /// <summary>Moves the armed timer's due time (a replay that learned the tick grid or the latency later).</summary>
    public void Reschedule()
    {
        if (!_timerOn) return;
        _timerBucket = TimerWheel.BucketExpiry(_jiffies.At(_timerArmedNs) + _timeoutJiffies, _jiffies.At(_timerArmedNs));
        _timerExpiryNs = _jiffies.BoundaryNs(_timerBucket) + LatencyNs;
    }

    /// <summary>When <see cref="RunExpiredTimer"/> fires the armed timer: its expiry, or with an
    /// <see cref="ExternalTimer"/> the expiry plus the grace; ulong.MaxValue when not armed.</summary>
    public ulong DueNs => !_timerOn ? ulong.MaxValue : ExternalTimer ? SatAdd(_timerExpiryNs, ExternalGraceNs) : _timerExpiryNs;

    /// <summary>Fires the timer if it is due (callers run this before touching the domain).</summary>
    public bool RunExpiredTimer()
    {
        if (DueNs > _clock.NowNs) return false;
        FlushTimeout();
        return true;
    }

    static ulong SatAdd(ulong a, ulong b) => a > ulong.MaxValue - b ? ulong.MaxValue : a + b;

    /// <summary>fq_flush_timeout() run by the timer softirq of <paramref name="cpu"/>: its frees land in that CPU's
    /// rcaches.</summary>
    public void FlushTimeout(int cpu)
    {
        if ((uint)cpu < (uint)_iovad.Cpus) _timerCpu = cpu;
        FlushTimeout();
    }

    /// <summary>
    /// fq_flush_timeout() that ran at <paramref name="flushNs"/>, earlier than now, on <paramref name="cpu"/>: a
    /// replay that learns only later when the timer must have run. Entries queued after that instant were queued after
    /// the flush began, so they wait for the next one (their counter is the new start count), and the first of them
    /// re-armed the timer (queue_iova() found fq_timer_on clear): the timer is armed again as of that entry.
    /// </summary>
    public void FlushTimeoutAsOf(ulong flushNs, int cpu)
    {
        if ((uint)cpu < (uint)_iovad.Cpus) _timerCpu = cpu;
        _flushCpu = _timerCpu;
        _timerOn = false;
        Stats.TimerFlushes++;
        ulong before = _flushStartCnt;
        FlushIotlb();
        _lastFlushNs = Math.Min(flushNs, _clock.NowNs);
        ulong rearmNs = ulong.MaxValue;
        int rearmCpu = 0;
        for (int ri = 0; ri < _rings.Length; ri++)
        {
            var r = _rings[ri];
            for (uint i = r.Head; i != r.Tail; i = (i + 1) & r.ModMask)
            {
                ref var e = ref r.Entries[i];
                if (e.QueuedNs <= flushNs || e.Counter != before) continue;
                e.Counter = _flushStartCnt;
                if (e.QueuedNs < rearmNs) { rearmNs = e.QueuedNs; rearmCpu = ri; }
            }
        }
        _placed.Clear();
        _recordPlaced = true;
        for (int i = 0; i < _rings.Length; i++) { _freeRing = i; RingFree(_rings[i], _timerCpu); }
        _recordPlaced = false;
        if (rearmNs != ulong.MaxValue) Arm(Type == FlushQueueType.Single ? _timerCpu : rearmCpu, rearmNs);
    }

    /// <summary>
    /// The timer flush placed by <see cref="FlushTimeoutAsOf"/> ran later than assumed, at <paramref name="flushNs"/>:
    /// the entries it left waiting that were queued by then are released after all, where the flush would have left
    /// them: fq_flush_timeout() frees CPU 0's ring first, so an entry of one ring goes below the entries of later rings
    /// that flush released (those still on top), else on top. The timer is re-armed as of the first entry queued after
    /// that instant.
    /// </summary>
    public void ExtendFlushTo(ulong flushNs)
    {
        ulong c = _flushStartCnt;
        ulong rearmNs = ulong.MaxValue;
        int rearmCpu = _timerCpu;
        for (int ri = 0; ri < _rings.Length; ri++)
        {
            var r = _rings[ri];
            for (uint i = r.Head; i != r.Tail; i = (i + 1) & r.ModMask)
            {
                ref var e = ref r.Entries[i];
                if (e.Counter != c) continue;
                if (e.QueuedNs <= flushNs) e.Counter = c - 1; // covered by the finished flush
                else if (e.QueuedNs < rearmNs) { rearmNs = e.QueuedNs; rearmCpu = ri; }
            }
        }
        _lastFlushNs = Math.Max(_lastFlushNs, flushNs);
        _recordPlaced = _extending = true;
        for (int i = 0; i < _rings.Length; i++) { _freeRing = i; RingFree(_rings[i], _flushCpu); }
        _recordPlaced = _extending = false;
        if (rearmNs != ulong.MaxValue) Arm(Type == FlushQueueType.Single ? _timerCpu : rearmCpu, rearmNs);
        else _timerOn = false;
    }

    /// <summary>The queue time of the oldest entry of class <paramref name="logSize"/> a timer flush now would free
    /// (ulong.MaxValue when none).</summary>
    public ulong FirstReleasableNs(int logSize)
    {
        ulong first = ulong.MaxValue, counter = _flushStartCnt + 1;
        foreach (var r in _rings)
            for (uint i = r.Head; i != r.Tail; i = (i + 1) & r.ModMask)
            {
                ref var e = ref r.Entries[i];
                if (e.Counter >= counter) break;
                if (IovaMath.OrderBase2(e.Pages) == logSize && e.QueuedNs < first) first = e.QueuedNs;
            }
        return first;
    }

    /// <summary>
    /// An entry that a flush placed by <see cref="FlushTimeoutAsOf"/> left waiting, queued in (lo, hi), at
    /// <paramref name="pfn"/> of class <paramref name="logSize"/> (or, with pfn 0, the first such of the class): its
    /// queue time.
    /// </summary>
    public bool FindWaiting(ulong pfn, int logSize, ulong lo, ulong hi, out ulong queuedNs) =>
        FindWaiting(pfn, logSize, lo, hi, out queuedNs, out _);

    /// <summary><see cref="FindWaiting(ulong, int, ulong, ulong, out ulong)"/>, with the ring the entry waits in.</summary>
    bool FindWaiting(ulong pfn, int logSize, ulong lo, ulong hi, out ulong queuedNs, out int ring)
    {
        queuedNs = ulong.MaxValue;
        ring = -1;
        ulong c = _flushStartCnt;
        for (int ri = 0; ri < _rings.Length; ri++)
        {
            var r = _rings[ri];
            for (uint i = r.Head; i != r.Tail; i = (i + 1) & r.ModMask)
            {
                ref var e = ref r.Entries[i];
                if (e.Counter != c || e.QueuedNs <= lo || e.QueuedNs >= hi || IovaMath.OrderBase2(e.Pages) != logSize) continue;
                if (pfn != 0 && e.IovaPfn != pfn) continue;
                if (e.QueuedNs < queuedNs) { queuedNs = e.QueuedNs; ring = ri; }
            }
        }
        return ring >= 0;
    }

    /// <summary>Linux: fq_flush_timeout(): disarm, flush the IOTLB, release every ring's covered entries.</summary>
    public void FlushTimeout()
    {
        _placed.Clear();
        _timerOn = false;
        Stats.TimerFlushes++;
        FlushIotlb();
        for (int i = 0; i < _rings.Length; i++) RingFree(_rings[i], _timerCpu);
    }

    /// <summary>
    /// Whether <see cref="ExtendFlushTo"/> up to the first entry of class <paramref name="logSize"/> left waiting in
    /// (<paramref name="lo"/>, <paramref name="hi"/>) would put that entry on top of <paramref name="cpu"/>'s cache:
    /// not when the placed flush released entries of that class from a later ring that are still there (the one flush
    /// would have freed them after it). When it would not, an allocation that did not get it tells nothing.
    /// </summary>
    public bool ExtensionSurfaces(int logSize, ulong lo, ulong hi, int cpu)
    {
        if (!FindWaiting(0, logSize, lo, hi, out _, out int ring)) return false;
        foreach (var p in _placed)
            if (p.Ring > ring && IovaMath.OrderBase2(p.Pages) == logSize && _iovad.LoadedHolds(cpu, logSize, p.Pfn)) return false;
        return true;
    }

    /// <summary>An extension's release of an entry of ring <c>_freeRing</c>: below what the placed flush released of
    /// its class from later rings, if any of that is still on top of <paramref name="cpu"/>'s cache.</summary>
    bool ReleaseBelowLaterRings(int cpu, ulong pfn, ulong pages)
    {
        int n = 0, logSize = IovaMath.OrderBase2(pages);
        foreach (var p in _placed)
        {
            if (p.Ring <= _freeRing || IovaMath.OrderBase2(p.Pages) != logSize) continue;
            if (n == _above.Length) Array.Resize(ref _above, n * 2);
            _above[n++] = p.Pfn;
        }
        return n > 0 && _iovad.FreeIovaFastBelow(cpu, pfn, pages, _above.AsSpan(0, n));
    }

    /// <summary>Linux: fq_flush_iotlb(): bracket the driver's flush_iotlb_all with the start/finish counters.</summary>
    void FlushIotlb()
    {
        _flushStartCnt++;
        _iommu.FlushIotlbAll();
        _flushFinishCnt++;
        _lastFlushNs = _clock.NowNs;
        Stats.Flushes++;
    }

    /// <summary>
    /// Linux: fq_ring_free_locked(): release entries from the head whose queue-time counter is below the finished
    /// count, i.e. a flush that began after they were queued has completed. Frees land in <paramref name="cpu"/>'s rcache.
    /// </summary>
    void RingFree(Ring fq, int cpu)
    {
        ulong counter = _flushFinishCnt;
        for (uint idx = fq.Head; idx != fq.Tail; idx = (idx + 1) & fq.ModMask)
        {
            ref var e = ref fq.Entries[idx];
            if (e.Counter >= counter) break;
            ulong stale = _lastFlushNs >= e.QueuedNs ? _lastFlushNs - e.QueuedNs : 0;
            Stats.StaleNsTotal += stale;
            if (stale > Stats.StaleNsMax) Stats.StaleNsMax = stale;
            Stats.StalePageNs += (double)stale * e.Pages;
            Stats.TablePagesHeld -= e.FreedTablePages;
            Stats.IovasHeld--;
            Stats.PagesHeld -= (long)e.Pages;
            Stats.Released++;
            OnRelease?.Invoke(e.IovaPfn, e.Pages, counter);
            if (!_extending || !ReleaseBelowLaterRings(cpu, e.IovaPfn, e.Pages)) _iovad.FreeIovaFast(cpu, e.IovaPfn, e.Pages);
            if (_recordPlaced) _placed.Add((e.IovaPfn, e.Pages, _freeRing));
            fq.Head = (fq.Head + 1) & fq.ModMask;
        }
    }
}
