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
    readonly Ring[] _rings;
    readonly ulong _tickNs;
    readonly ulong _timeoutJiffies;
    ulong _flushStartCnt;
    ulong _flushFinishCnt;
    bool _timerOn;
    ulong _timerExpiryNs = ulong.MaxValue;
    int _timerCpu;
    ulong _lastFlushNs;

    /// <summary>Linux: iommu_dma_init_options() + iommu_dma_init_fq().</summary>
    /// <param name="iovad">The domain's allocator; released IOVAs go back through free_iova_fast.</param>
    /// <param name="iommu">The driver's flush_iotlb_all.</param>
    /// <param name="type">Per-CPU rings, or one shared ring when the driver shadows flushes.</param>
    /// <param name="hz">Kernel CONFIG_HZ: the timeout is msecs_to_jiffies(timeout) ticks after the current tick.</param>
    /// <param name="size">Ring size override (power of two); the kernel's size for <paramref name="type"/> if 0.</param>
    public FlushQueue(IovaDomain iovad, IIotlbFlushAll iommu, SimClock clock, FlushQueueType type = FlushQueueType.PerCpu,
        int hz = 250, int size = 0)
    {
        _iovad = iovad ?? throw new ArgumentNullException(nameof(iovad));
        _iommu = iommu ?? throw new ArgumentNullException(nameof(iommu));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        if (hz <= 0) throw new ArgumentOutOfRangeException(nameof(hz), hz, "CONFIG_HZ must be positive");
        Type = type;
        Size = size != 0 ? size : type == FlushQueueType.Single ? SingleFqSize : DefaultFqSize;
        if (!IovaMath.IsPowerOfTwo((ulong)Size) || Size < 2)
            throw new ArgumentException($"flush queue size {Size} must be a power of two >= 2 (fq->mod_mask)", nameof(size));
        TimeoutMs = type == FlushQueueType.Single ? SingleFqTimeoutMs : DefaultFqTimeoutMs;
        _tickNs = 1_000_000_000UL / (ulong)hz;
        _timeoutJiffies = IovaDomain.MsecsToJiffies(TimeoutMs, hz);
        _rings = new Ring[type == FlushQueueType.Single ? 1 : iovad.Cpus];
        for (int i = 0; i < _rings.Length; i++) _rings[i] = new Ring(Size);
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

        if (!_timerOn)
        {
            // mod_timer(jiffies + msecs_to_jiffies(timeout)): expiry is a tick boundary.
            _timerOn = true;
            _timerCpu = cpu;
            _timerExpiryNs = (_clock.NowNs / _tickNs + _timeoutJiffies) * _tickNs;
        }
    }

    /// <summary>Fires the timer if its virtual expiry has passed (callers run this before touching the domain).</summary>
    public bool RunExpiredTimer()
    {
        if (!_timerOn || _timerExpiryNs > _clock.NowNs) return false;
        FlushTimeout();
        return true;
    }

    /// <summary>Linux: fq_flush_timeout(): disarm, flush the IOTLB, release every ring's covered entries.</summary>
    public void FlushTimeout()
    {
        _timerOn = false;
        Stats.TimerFlushes++;
        FlushIotlb();
        for (int i = 0; i < _rings.Length; i++) RingFree(_rings[i], _timerCpu);
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
            _iovad.FreeIovaFast(cpu, e.IovaPfn, e.Pages);
            fq.Head = (fq.Head + 1) & fq.ModMask;
        }
    }
}
