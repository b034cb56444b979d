using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>
/// A bounded lookahead over the record stream (a ring of reused <see cref="TraceRecord"/> copies, constant memory)
/// that restores the order in which a mapping call's allocation really happened relative to interrupts.
/// <para>
/// iommu-dma and swiotlb allocate (IOVA, bounce slots) at the start of a map call, before its iommu:map lines and its
/// dma:* event are traced (Linux: drivers/iommu/dma-iommu.c, __iommu_dma_map() allocates then calls iommu_map();
/// include/trace/events/dma.h traces after the ops return). An interrupt of a higher level (softirq over task,
/// hardirq over either) that hits the task in between is traced with the task's pid and CPU between those lines, so
/// in the text the allocation seems to come after the interrupt's own unmaps/frees. A map call is therefore replayed
/// before such interrupt records, unless one of them freed the very address range the call received (a live IOVA or
/// slot cannot be handed out, so that free came first) or mapped memory itself (a softirq batch such as a NAPI refill
/// that ran to completion before the call started). Records of other CPUs are independent and skipped by the scan.
/// swiotlb is different: swiotlb_map() traces swiotlb_bounced first and searches for slots right after it, so a
/// bounced call is anchored at its swiotlb_bounced line and never moved.
/// </para>
/// <para>
/// The window also classifies iommu:map lines that belong to no DMA-API call (the IOMMU layer's own mappings, e.g.
/// an MSI doorbell page, Linux: iommu_dma_get_msi_page()): when such a map leaves the window, the next dma:* event of
/// the same task, CPU and level is in view; if that call does not cover the IOVA, the map is the layer's and belongs
/// to that call's device.
/// </para>
/// </summary>
internal sealed class ReplayReorderWindow
{
    readonly TraceRecord[] _buf;
    readonly TraceRecord[] _scratch;
    readonly int _mask;
    int _head, _count;

    public ReplayReorderWindow(int capacity)
    {
        int cap = 16;
        while (cap < capacity) cap <<= 1;
        _buf = new TraceRecord[cap];
        for (int i = 0; i < cap; i++) _buf[i] = TraceRecord.Create(TraceEventKind.Unknown);
        _mask = cap - 1;
        _scratch = new TraceRecord[cap];
    }

    public int Capacity => _buf.Length;
    public int Count => _count;
    /// <summary>Map calls replayed ahead of an interrupt.</summary>
    public long Reordered { get; private set; }

    TraceRecord At(int i) => _buf[(_head + i) & _mask];

    /// <summary>True when the window is full and <see cref="Pop"/> must be called before the next push.</summary>
    public bool Full => _count == _buf.Length;

    public void Push(TraceRecord r)
    {
        if (Full) throw new InvalidOperationException("reorder window full: pop first");
        _buf[(_head + _count) & _mask].CopyFrom(r);
        _count++;
        Place(r.Kind);
    }

    void Place(TraceEventKind kind)
    {
        var r = At(_count - 1);
        if (r.Cpu != _firstCpu) { if (_firstCpu < 0) _firstCpu = r.Cpu; else _smp = true; }
        if (IsAllocatingCall(kind))
        {
            TryReorder(_count - 1);
            if (_smp) MarkOtherCpus(_count - 1);
        }
        else if (kind is TraceEventKind.DmaUnmapPhys or TraceEventKind.DmaUnmapResource or TraceEventKind.IommuUnmap) PlaceFree(_count - 1);
    }

    /// <summary>The oldest record; valid until the next <see cref="Push"/>.</summary>
    public TraceRecord Pop()
    {
        var r = _buf[_head];
        _head = (_head + 1) & _mask;
        _count--;
        return r;
    }

    public TraceRecord Peek() => _buf[_head];

    /// <summary>Like <see cref="Push"/>, but takes <paramref name="r"/> itself into the window instead of a copy, and
    /// returns the spare record it displaced (a popped one, free for the caller to refill): no field is copied.</summary>
    public TraceRecord PushOwned(TraceRecord r)
    {
        if (Full) throw new InvalidOperationException("reorder window full: pop first");
        ref var slot = ref _buf[(_head + _count) & _mask];
        var spare = slot;
        slot = r;
        _count++;
        Place(r.Kind);
        return spare;
    }

    internal static bool IsAllocatingCall(TraceEventKind k) => k is TraceEventKind.DmaMapPhys or TraceEventKind.DmaMapResource
        or TraceEventKind.DmaMapSg or TraceEventKind.DmaAlloc or TraceEventKind.DmaAllocPages or TraceEventKind.DmaAllocSgt;

    static bool IsDmaCall(TraceEventKind k) => k is >= TraceEventKind.DmaMapPhys and <= TraceEventKind.DmaSyncSgForDevice;

    /// <summary>The DMA address range [lo, hi) the call received, page-rounded down at the start.</summary>
    static (ulong Lo, ulong Hi) Range(TraceRecord e)
    {
        if (e.Kind == TraceEventKind.DmaMapSg)
        {
            var d = e.DmaAddrs;
            var l = e.Lengths;
            if (d.IsEmpty) return (0, 0);
            ulong lo = ulong.MaxValue, hi = 0;
            for (int i = 0; i < d.Length; i++)
            {
                lo = Math.Min(lo, d[i] & ~0xFFFUL);
                hi = Math.Max(hi, d[i] + (i < l.Length ? Math.Max(l[i], 1) : 1));
            }
            return (lo, hi);
        }
        return (e.DmaAddr & ~0xFFFUL, e.DmaAddr + Math.Max(e.Size, 1));
    }

    /// <summary>Whether a device's unmapped IOVAs wait in a flush queue (lazy domain) instead of going straight back to
    /// the allocator; null = strict for every device. Set by the replayer from the model's inference.</summary>
    public Func<string, bool>? FreesDeferred { get; set; }
    /// <summary>A line whose placement is explained through <see cref="Say"/> (0: none).</summary>
    public long ExplainLine { get; set; }
    public Action<string>? Say { get; set; }

    static bool SameContext(TraceRecord x, TraceRecord e) => x.Cpu == e.Cpu && x.Pid == e.Pid && x.IrqLevel == e.IrqLevel;

    static bool IsFreeingCall(TraceEventKind k) => k is TraceEventKind.DmaUnmapPhys or TraceEventKind.DmaUnmapResource
        or TraceEventKind.DmaUnmapSg or TraceEventKind.DmaFree or TraceEventKind.DmaFreePages or TraceEventKind.DmaFreeSgt;

    /// <summary>
    /// Where an allocating call's allocation happened relative to the interrupts traced inside it
    /// (Linux: drivers/iommu/dma-iommu.c, __iommu_dma_map() and iommu_dma_map_sg() allocate the IOVA, then
    /// iommu_map() traces each map line, then the DMA API traces dma_map_*):
    /// <list type="bullet">
    /// <item>Interrupt records after the call's first map line ran after the allocation: the call's records move ahead
    /// of them, whatever they did.</item>
    /// <item>Interrupt records between the task's previous record and the first map line ran before the allocation
    /// unless its result says otherwise: almost all of that time the task spent before reaching the allocator (in the
    /// block or network stack), so the call stays after them. An interrupt that freed the very range the call
    /// received certainly came first. Between that point and the first map line, each interrupt record that could
    /// change what the allocation returns (a strict domain's free, a lazy domain's flush-queue timer, an allocation
    /// of the same device) is marked; when it reaches the head, the call moves ahead of it if the model's preview
    /// says the allocation, made there, returns the kernel's address (a timer softirq that hit between the
    /// allocation and iommu_map() shows as a fresh range where the flushed ones would have been reused).</item>
    /// </list>
    /// Records of other CPUs are independent and skipped by the scan.
    /// </summary>
    void TryReorder(int i)
    {
        var e = At(i);
        int level = e.IrqLevel;
        int firstMap = -1, firstIrq = -1;
        bool flagless = e.Flags.Length == 0;
        int k = i - 1;
        for (; k >= 0; k--)
        {
            var x = At(k);
            if (x.Cpu != e.Cpu) continue;
            if (x.Pid != e.Pid || x.ReorderBarrier) break;
            int lx = x.IrqLevel;
            if (lx > level) { firstIrq = k; continue; }
            if (lx == level && x.Kind == TraceEventKind.IommuMap) { firstMap = k; continue; }
            // A bounced call allocated its slot at its swiotlb_bounced line (swiotlb_map() traces, then searches), and
            // the model allocates it there: nothing to move.
            if (lx == level && x.Kind == TraceEventKind.SwiotlbBounced) return;
            if (flagless && InferableIrq(x, e)) continue; // decided once the first map line is known
            break;
        }
        if (flagless && firstMap >= 0) InferIrqs(e, i, firstMap, ref k, ref firstIrq);
        if (firstIrq < 0 || firstMap < 0) return;
        int spanStart = k + 1;
        var (lo, hi) = Range(e);
        // The allocation came after every interrupt that freed the range it received (a live range cannot be handed
        // out): the earliest place it may float to.
        int afterOwnFree = spanStart;
        for (int j = spanStart; j < firstMap; j++)
        {
            var x = At(j);
            if (x.Cpu != e.Cpu || x.IrqLevel <= level) continue;
            bool own = x.Kind == TraceEventKind.IommuUnmap
                ? x.Iova < hi && x.Iova + Math.Max(x.Size, 1) > lo
                : IsFreeingCall(x.Kind) && x.Kind != TraceEventKind.DmaUnmapSg && x.Device == e.Device
                  && (x.DmaAddr & ~0xFFFUL) < hi && x.DmaAddr + Math.Max(x.Size, 1) > lo;
            if (own) afterOwnFree = j + 1;
        }
        bool moved = MoveAhead(i, firstMap, e);
        if (moved) Reordered++;
        if (e.Line == ExplainLine)
        {
            Say?.Invoke($"its first iommu:map is line {At(firstMap).Line}: " + (moved
                ? "interrupt records traced after it ran after the allocation, which is replayed ahead of them"
                : "no interrupt traced after it"));
            if (afterOwnFree > spanStart) Say?.Invoke($"an interrupt freed the range it received (before line {At(Math.Min(afterOwnFree, _count - 1)).Line}): the allocation came after it");
        }
        MarkFloats(e, afterOwnFree, FreesDeferred?.Invoke(e.Device) ?? false);
    }

    /// <summary>Records whose interrupt level a trace without the irq-flags column (trace-cmd report without -l) leaves
    /// to be inferred: the flags of these are set to a hardirq's.</summary>
    public long InferredIrqs { get; private set; }

    const string InferredHardirqFlags = "..h..";

    static bool InferableIrq(TraceRecord x, TraceRecord e) =>
        x.Flags.Length == 0 && x.IrqLevel == e.IrqLevel && (x.Kind == TraceEventKind.IommuUnmap || IsFreeingCall(x.Kind));

    /// <summary>
    /// A trace without the irq-flags column: an unmap or free traced with the task's pid and CPU after the call's first
    /// map line, before its dma_map_* line, cannot be the task's own (it is inside its own DMA-API call), so an
    /// interrupt ran it; its flags become a hardirq's. One before the first map line may be the task's own previous
    /// call: the span ends there (<paramref name="k"/>).
    /// </summary>
    void InferIrqs(TraceRecord e, int i, int firstMap, ref int k, ref int firstIrq)
    {
        for (int j = firstMap + 1; j < i; j++)
        {
            var x = At(j);
            if (x.Cpu != e.Cpu || x.Pid != e.Pid || !InferableIrq(x, e)) continue;
            x.SetFlags(InferredHardirqFlags);
            InferredIrqs++;
            if (firstIrq < 0 || j < firstIrq) firstIrq = j;
        }
        for (int j = firstMap - 1; j > k; j--)
        {
            var x = At(j);
            if (x.Cpu == e.Cpu && x.Pid == e.Pid && InferableIrq(x, e)) { k = j; break; }
        }
    }

    /// <summary>
    /// The pre-map interrupt records (still before the call after any move) that could change what the call's
    /// allocation returns: an unmap line (a strict domain's free), the flush queue's timer (a lazy domain's release),
    /// an allocation of the same device. For those the trace cannot tell whether the allocation came before or after;
    /// each is marked, and when it reaches the head the replayer asks the model which order gives the traced address
    /// (<see cref="TryFloat"/>).
    /// </summary>
    void MarkFloats(TraceRecord e, int earliest, bool deferred)
    {
        int i = IndexOfLine(e.Line);
        for (int k = i - 1; k >= earliest; k--)
        {
            var x = At(k);
            if (x.Cpu != e.Cpu) continue;
            if (x.Pid != e.Pid || x.ReorderBarrier) break;
            if (x.IrqLevel <= e.IrqLevel)
            {
                if (x.Kind == TraceEventKind.IommuMap && SameContext(x, e)) continue;
                break;
            }
            // The record at which the model performs what may interact with the allocation: a strict domain's free
            // (the unmap call's record; a lazy one's free waits in the flush queue), the flush queue's timer (which
            // hands a lazy domain's waiting ranges back), an allocation of the same device.
            var at = x.Kind switch
            {
                TraceEventKind.IommuUnmap when !deferred && FreeingCall(k) is int f && f >= earliest && At(f).Device == e.Device => At(f),
                TraceEventKind.TimerExpireEntry when deferred => x,
                _ when IsAllocatingCall(x.Kind) && x.Device == e.Device => x,
                _ => null,
            };
            // One call per record: the nearest call (the first to be replayed) keeps it.
            if (at is null || at.FloatLine != 0) continue;
            at.FloatLine = e.Line;
            if (e.Line == ExplainLine)
                Say?.Invoke($"interrupt line {at.Line} ({at.EventName}), traced before its first map line, could change what the allocation gets: the model's preview decides the order there");
            if (x.Kind == TraceEventKind.IommuUnmap)
            {
                at.FloatFreedIova = x.Iova & ~0xFFFUL;
                at.FloatFreedPages = ((x.Iova & 0xFFF) + Math.Max(x.Size, 1) + 0xFFF) >> 12;
            }
            e.OrderInferred = true;
        }
    }

    int _firstCpu = -1;
    bool _smp;

    /// <summary>How far back <see cref="MarkOtherCpus"/> looks for the call's own earlier records.</summary>
    const int OtherCpuScan = 128;

    /// <summary>
    /// Allocating calls of the same device on other CPUs traced inside this call's allocation window (after its task's
    /// previous record, before its first map line): the CPUs allocated concurrently and the order of the lines does
    /// not say whose allocation came first (Linux: drivers/iommu/dma-iommu.c allocates before iommu_map() traces).
    /// Each is marked; when it reaches the head the model's previews decide (<see cref="TryFloat"/>): this call moves
    /// ahead of it when only that order gives both their traced addresses as the trace shows this one's.
    /// </summary>
    void MarkOtherCpus(int i)
    {
        var e = At(i);
        int firstMap = -1, k = i - 1;
        for (; k >= 0 && k >= i - OtherCpuScan; k--)
        {
            var x = At(k);
            if (x.Cpu != e.Cpu) continue;
            if (x.ReorderBarrier) break;
            if (!SameContext(x, e)) continue;
            if (x.Kind == TraceEventKind.IommuMap) { firstMap = k; continue; }
            break;
        }
        if (firstMap < 0) return;
        for (int j = Math.Max(k + 1, 0); j < firstMap; j++)
        {
            var x = At(j);
            if (x.Cpu == e.Cpu || x.FloatLine != 0 || !IsAllocatingCall(x.Kind) || x.Device != e.Device) continue;
            x.FloatLine = e.Line;
            e.OrderInferred = true;
            if (e.Line == ExplainLine)
                Say?.Invoke($"CPU {x.Cpu}'s line {x.Line} ({x.EventName}), traced before its first map line, allocated concurrently: the model's previews decide which came first");
        }
    }

    /// <summary>Where the unmap call an unmap line at <paramref name="k"/> belongs to is: its dma_unmap_* record is the
    /// next record of the same context (dma_unmap_page, traced after the work) or the one before it (dma_unmap_sg and
    /// dma_free, traced before it), see <see cref="PlaceFree"/>; -1 when neither.</summary>
    int FreeingCall(int k)
    {
        var u = At(k);
        for (int j = k + 1; j < _count; j++)
        {
            var y = At(j);
            if (y.Cpu != u.Cpu) continue;
            if (!SameContext(y, u)) break;
            if (y.Kind == TraceEventKind.TimerStart) continue;
            if (y.Kind is TraceEventKind.DmaUnmapPhys or TraceEventKind.DmaUnmapResource
                || IsFreeingCall(y.Kind) && j == k + 1) return j;
            break;
        }
        for (int j = k - 1; j >= 0; j--)
        {
            var y = At(j);
            if (y.Cpu != u.Cpu) continue;
            if (!SameContext(y, u)) return -1;
            return y.Kind is TraceEventKind.DmaUnmapSg or TraceEventKind.DmaFree or TraceEventKind.DmaFreePages
                or TraceEventKind.DmaFreeSgt ? j : -1;
        }
        return -1;
    }

    /// <summary>Where the call at <paramref name="line"/> sits: searched from the newest record when it was just pushed
    /// (<paramref name="fromHead"/> false), from the head when an interrupt ahead of it is about to be replayed.</summary>
    int IndexOfLine(long line, bool fromHead = false)
    {
        if (fromHead)
        {
            for (int j = 0; j < _count; j++)
                if (At(j).Line == line && IsAllocatingCall(At(j).Kind)) return j;
            return -1;
        }
        for (int j = _count - 1; j >= 0; j--)
            if (At(j).Line == line && IsAllocatingCall(At(j).Kind)) return j;
        return -1;
    }

    /// <summary>
    /// At the head: a record marked by <see cref="MarkFloats"/>. When the later call it names is still in the window
    /// and <paramref name="mustPrecede"/> says the call's traced address is what it gets now but not what it would
    /// get after the head (so staying after contradicts the trace), the call's records move ahead of the head: its
    /// allocation came before this interrupt. True when they moved.
    /// </summary>
    public bool TryFloat(Func<TraceRecord, TraceRecord, bool> mustPrecede)
    {
        var head = At(0);
        long line = head.FloatLine;
        head.FloatLine = 0;
        if (line == 0) return false;
        int c = IndexOfLine(line, fromHead: true);
        if (c <= 0) return false;
        var call = At(c);
        if (!mustPrecede(call, head))
        {
            if (call.Line == ExplainLine) Say?.Invoke($"kept after interrupt line {head.Line}");
            return false;
        }
        if (call.Line == ExplainLine) Say?.Invoke($"replayed ahead of interrupt line {head.Line}: only that order gives the traced address (inferred)");
        int n = c + 1;
        Span<int> order = n <= 256 ? stackalloc int[n] : new int[n];
        int w = 0;
        for (int j = 0; j <= c; j++) if (SameContext(At(j), call)) order[w++] = j;
        for (int j = 0; j <= c; j++)
        {
            var x = At(j);
            if (SameContext(x, call)) continue;
            order[w++] = j;
            if (x.Cpu == call.Cpu) x.ReorderBarrier = true;
        }
        Permute(0, order);
        Floated++;
        return true;
    }

    /// <summary>Calls replayed ahead of an interrupt because only that order explains their address.</summary>
    public long Floated { get; private set; }

    /// <summary>Stable partition of [from, i]: the call's own records (same task, CPU and level) first, then the rest,
    /// which become barriers for later backward scans. False when nothing of another context lies in between.</summary>
    bool MoveAhead(int i, int from, TraceRecord e)
    {
        int first = -1;
        for (int j = from; j < i; j++)
        {
            var x = At(j);
            if (x.Cpu == e.Cpu && !SameContext(x, e)) { first = j; break; }
        }
        if (first < 0) return false;
        int n = i - first + 1;
        Span<int> order = n <= 256 ? stackalloc int[n] : new int[n];
        int w = 0;
        for (int j = first; j <= i; j++)
            if (SameContext(At(j), e)) order[w++] = j;
        for (int j = first; j <= i; j++)
        {
            var x = At(j);
            if (!SameContext(x, e))
            {
                order[w++] = j;
                if (x.Cpu == e.Cpu) x.ReorderBarrier = true;
            }
        }
        Permute(first, order);
        return true;
    }

    void Permute(int first, ReadOnlySpan<int> order)
    {
        int n = order.Length;
        for (int j = 0; j < n; j++) _scratch[j] = At(order[j]);
        for (int j = 0; j < n; j++) _buf[(_head + first + j) & _mask] = _scratch[j];
        _scratch.AsSpan(0, n).Clear();
    }

    /// <summary>
    /// Where an unmap's free happened (Linux: drivers/iommu/dma-iommu.c, __iommu_dma_unmap() unmaps the range, traced
    /// as unmap, then, strict, syncs the IOTLB and frees the IOVA, or, lazy, queues it at once). dma_unmap_page is
    /// traced when all that has returned (kernel/dma/mapping.c): in a lazy domain an interrupt traced between the
    /// unmap line and it came after the queueing, and the record moves up to its unmap line (with the queue's
    /// timer_start, which queue_iova() traced in between); in a strict one it stays. dma_unmap_sg and dma_free are
    /// traced before the work: an interrupt between one and its unmap line came before the free, and the record moves
    /// down to right after the unmap line.
    /// </summary>
    void PlaceFree(int i)
    {
        var e = At(i);
        if (e.Kind == TraceEventKind.IommuUnmap)
        {
            // The newest record of this context before the unmap line: a dma_unmap_sg/dma_free traced before its work.
            bool crossed = false;
            for (int k = i - 1; k >= 0; k--)
            {
                var x = At(k);
                if (x.Cpu != e.Cpu) continue;
                if (x.Pid != e.Pid) return;
                if (x.IrqLevel > e.IrqLevel) { crossed = true; continue; }
                if (x.IrqLevel < e.IrqLevel) return;
                if (!(x.Kind is TraceEventKind.DmaUnmapSg or TraceEventKind.DmaFree or TraceEventKind.DmaFreePages
                      or TraceEventKind.DmaFreeSgt)) return;
                // The free happens at the unmap line's time (it matters for when queue_iova() armed the flush timer).
                if (e.TimestampNs > x.TimestampNs) x.TimestampNs = e.TimestampNs;
                if (!crossed) return;
                // Rotate [k, i]: the call record goes after the unmap line.
                int n = i - k + 1;
                Span<int> order = n <= 256 ? stackalloc int[n] : new int[n];
                for (int j = 0; j < n - 1; j++) order[j] = k + 1 + j;
                order[n - 1] = k;
                Permute(k, order);
                return;
            }
            return;
        }
        // dma_unmap_page / dma_unmap_resource. A strict domain syncs the IOTLB between the unmap line and the free
        // (iommu_iotlb_sync(), a wait for the invalidation to complete): an interrupt traced there most likely ran
        // during the wait, before the free, which happens just before the call returns and traces: the record stays.
        // A lazy domain queues the IOVA right after the unmap line (queue_iova(), whose timer_start shows it): the
        // record moves up to its unmap line.
        if (!(FreesDeferred?.Invoke(e.Device) ?? false)) return;
        bool interrupted = false;
        for (int k = i - 1; k >= 0; k--)
        {
            var x = At(k);
            if (x.Cpu != e.Cpu) continue;
            if (x.Pid != e.Pid) return;
            if (x.IrqLevel > e.IrqLevel) { interrupted = true; continue; }
            if (x.IrqLevel < e.IrqLevel) return;
            if (x.Kind == TraceEventKind.TimerStart) continue; // queue_iova()'s mod_timer, part of this call
            if (x.Kind != TraceEventKind.IommuUnmap || !interrupted) return;
            // [k+1, i]: this context's records (the call, its timer_start) first, then the interrupts.
            int n = i - k;
            Span<int> order = n <= 256 ? stackalloc int[n] : new int[n];
            int w = 0;
            for (int j = k + 1; j <= i; j++) if (SameContext(At(j), e)) order[w++] = j;
            for (int j = k + 1; j <= i; j++) if (!SameContext(At(j), e)) order[w++] = j;
            Permute(k + 1, order);
            return;
        }
    }

    /// <summary>
    /// For an iommu:map at the head: the device whose IOMMU layer made it when it belongs to no DMA-API call, or null
    /// when the next dma:* event of its task/CPU/level covers it (or none is in view). <paramref name="noCall"/> is
    /// set when no later dma:* event of that context is in view (or the same page is mapped again by the context first:
    /// a doorbell mapped for another domain), so the caller falls back to the device that context attached last.
    /// </summary>
    public string? LayerMapOwner(TraceRecord m, out bool noCall)
    {
        noCall = false;
        int level = m.IrqLevel;
        for (int j = 0; j < _count; j++)
        {
            var y = At(j);
            if (ReferenceEquals(y, m) || y.Cpu != m.Cpu || y.Pid != m.Pid || y.IrqLevel != level) continue;
            if (y.Kind == TraceEventKind.IommuMap)
            {
                if (y.PhysAddr == m.PhysAddr && y.Line != m.Line) { noCall = true; return null; }
                continue;
            }
            if (!IsDmaCall(y.Kind)) continue;
            if (!IsAllocatingCall(y.Kind)) return y.Device;
            return Covers(y, m.Iova, m.Size) ? null : y.Device;
        }
        noCall = true;
        return null;
    }

    static bool Covers(TraceRecord y, ulong iova, ulong size)
    {
        ulong mhi = iova + Math.Max(size, 1);
        if (y.Kind == TraceEventKind.DmaMapSg)
        {
            if (y.Truncated) return true;
            var d = y.DmaAddrs;
            var l = y.Lengths;
            for (int i = 0; i < d.Length; i++)
            {
                ulong lo = d[i] & ~0xFFFUL, hi = d[i] + (i < l.Length ? Math.Max(l[i], 1) : 1);
                if (iova < hi && mhi > lo) return true;
            }
            return false;
        }
        ulong a = y.DmaAddr & ~0xFFFUL, b = y.DmaAddr + Math.Max(y.Size, 1);
        return iova < b && mhi > a;
    }
}
