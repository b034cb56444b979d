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
        if (IsAllocatingCall(r.Kind)) TryReorder(_count - 1);
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
        if (IsAllocatingCall(r.Kind)) TryReorder(_count - 1);
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

    void TryReorder(int i)
    {
        var e = At(i);
        int level = e.IrqLevel;
        var (lo, hi) = Range(e);
        bool interrupted = false, blocked = false;
        int firstIrq = -1;
        for (int k = i - 1; k >= 0; k--)
        {
            var x = At(k);
            if (x.Cpu != e.Cpu) continue;
            if (x.Pid != e.Pid || x.ReorderBarrier) break;
            int lx = x.IrqLevel;
            if (lx > level)
            {
                interrupted = true;
                firstIrq = k;
                if (IsAllocatingCall(x.Kind) || x.Kind == TraceEventKind.IommuMap) blocked = true;
                else if (x.Kind == TraceEventKind.IommuUnmap && x.Iova < hi && x.Iova + Math.Max(x.Size, 1) > lo) blocked = true;
                else if (x.Kind is TraceEventKind.DmaUnmapPhys or TraceEventKind.DmaUnmapResource or TraceEventKind.DmaFree
                         or TraceEventKind.DmaFreePages && x.DmaAddr < hi && x.DmaAddr + Math.Max(x.Size, 1) > lo) blocked = true;
                continue;
            }
            if (lx == level && x.Kind == TraceEventKind.IommuMap) continue;
            // A bounced call allocated its slot at its swiotlb_bounced line (swiotlb_map() traces, then searches):
            // whatever was traced after that line came after the allocation.
            if (lx == level && x.Kind == TraceEventKind.SwiotlbBounced) return;
            break;
        }
        if (!interrupted || blocked) return;
        // Stable partition of [firstIrq, i]: the call's own records (same task, CPU and level) first, then the rest.
        int n = i - firstIrq + 1;
        Span<int> order = n <= 256 ? stackalloc int[n] : new int[n];
        int w = 0;
        for (int k = firstIrq; k <= i; k++)
        {
            var x = At(k);
            if (x.Cpu == e.Cpu && x.Pid == e.Pid && x.IrqLevel == level) order[w++] = k;
        }
        for (int k = firstIrq; k <= i; k++)
        {
            var x = At(k);
            if (!(x.Cpu == e.Cpu && x.Pid == e.Pid && x.IrqLevel == level))
            {
                order[w++] = k;
                if (x.Cpu == e.Cpu) x.ReorderBarrier = true;
            }
        }
        for (int j = 0; j < n; j++) _scratch[j] = At(order[j]);
        for (int j = 0; j < n; j++) _buf[(_head + firstIrq + j) & _mask] = _scratch[j];
        _scratch.AsSpan(0, n).Clear();
        Reordered++;
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
