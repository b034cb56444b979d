using DmaLab.Dma;
namespace DmaLab.Trace;

/// <summary>
/// One parsed event line. The reader reuses a single instance per event (no allocation per line): copy what you
/// need before the next <see cref="FtraceReader.Read"/>, or call <see cref="Clone"/>. Which fields are meaningful
/// depends on <see cref="Kind"/>, following the event's TP_printk (Linux: include/trace/events/dma.h, iommu.h,
/// swiotlb.h):
/// <list type="bullet">
/// <item>map/unmap phys|page|resource: Device, Dir, DmaAddr, Size, PhysAddr (map only), Attrs.</item>
/// <item>dma_map_sg: Dir, PhysAddrs (nents, at most 128 listed), DmaAddrs + Lengths (ents, at most 128 listed),
/// FullNents/FullEnts, Truncated, Attrs. dma_unmap_sg: PhysAddrs only. dma_map_sg_err: PhysAddrs and Error.</item>
/// <item>alloc/free (+_pages): DmaAddr, Size, Dir, Attrs, Gfp (alloc). alloc_sgt/free_sgt: DmaAddr, Size,
/// PhysAddrs.</item>
/// <item>sync_single_*: DmaAddr, Size, Dir. sync_sg_*: DmaAddrs, Lengths, Dir.</item>
/// <item>swiotlb_bounced: Device, DmaMask, PhysAddr (dev_addr: the original buffer), Size, Forced.</item>
/// <item>iommu map: Iova (DmaAddr), PhysAddr (paddr), Size. iommu unmap: Iova, Size, UnmappedSize.</item>
/// <item>io_page_fault: Device, Driver, DmaAddr (iova), FaultFlags. group events: Device, GroupId.</item>
/// <item>tracing_mark_write: Message.</item>
/// <item>timer_start: TimerFunction, TimerJiffies, TimerExpires, TimerBucket (bucket_expiry), TimerCpu.
/// timer_expire_entry: TimerFunction, TimerJiffies (now), TimerBucket (baseclk).</item>
/// </list>
/// </summary>
public sealed class TraceRecord
{
    /// <summary>Longest sg list the kernel records in dma_map_sg (Linux: dma.h, DMA_TRACE_MAX_ENTRIES).</summary>
    public const int TraceMaxEntries = 128;

    internal ulong[] PhysBuf, DmaBuf, LenBuf;
    internal int PhysCount, DmaCount, LenCount;

    public TraceRecord() : this(TraceMaxEntries) { }

    /// <summary>A record whose sg lists start at <paramref name="listCapacity"/> entries and grow (doubling) on
    /// demand: the read-ahead ring holds many records and most events carry short lists or none.</summary>
    internal TraceRecord(int listCapacity)
    {
        int n = Math.Max(1, listCapacity);
        PhysBuf = new ulong[n];
        DmaBuf = new ulong[n];
        LenBuf = new ulong[n];
    }

    public long Line { get; internal set; }
    public TraceEventKind Kind { get; internal set; }
    /// <summary>Event name as printed (e.g. "dma_map_page", "map"), interned.</summary>
    public string EventName { get; internal set; } = "";
    public string Task { get; internal set; } = "";
    public int Pid { get; internal set; }
    public int Cpu { get; internal set; }
    /// <summary>The irqs-off/need-resched/hardirq/preempt flags column ("d.h1."), empty when the trace has none.</summary>
    public string Flags { get; internal set; } = "";
    public ulong TimestampNs { get; internal set; }
    /// <summary>Device name (dev_name()), interned; empty for events without one (iommu map/unmap, markers).</summary>
    public string Device { get; internal set; } = "";
    /// <summary>Id of <see cref="Device"/> in the reader's device table (-1 when none).</summary>
    public int DeviceId { get; internal set; } = -1;
    public DmaDirection Dir { get; internal set; }
    public DmaAttrs Attrs { get; internal set; }
    public ulong DmaAddr { get; internal set; }
    public ulong PhysAddr { get; internal set; }
    public ulong Size { get; internal set; }
    public ulong UnmappedSize { get; internal set; }
    public ulong DmaMask { get; internal set; }
    public bool Forced { get; internal set; }
    public int FullNents { get; internal set; }
    public int FullEnts { get; internal set; }
    public bool Truncated { get; internal set; }
    public int Error { get; internal set; }
    public int GroupId { get; internal set; }
    public int FaultFlags { get; internal set; }
    /// <summary>gfp flags text of alloc events (e.g. "GFP_KERNEL"), interned.</summary>
    public string Gfp { get; internal set; } = "";
    /// <summary>io_page_fault: the driver name.</summary>
    public string Driver { get; internal set; } = "";
    /// <summary>tracing_mark_write: the marker text.</summary>
    public string Message { get; internal set; } = "";
    /// <summary>The kernel stack ftrace printed after this event (options/stacktrace: a "&lt;stack trace&gt;" entry and
    /// its " => func+0x12/0x40 [module]" lines, Linux: kernel/trace/trace_output.c, trace_stack_print()): the frames,
    /// innermost first, separated by '\n'. Empty when the trace has none (the usual case).</summary>
    public string Stack { get; set; } = "";
    /// <summary>timer_start / timer_expire_entry: the callback (function=), interned.</summary>
    public string TimerFunction { get; internal set; } = "";
    /// <summary>timer_start: jiffies when armed (expires - timeout); timer_expire_entry: jiffies when run (now=).</summary>
    public ulong TimerJiffies { get; internal set; }
    /// <summary>timer_start: expires= (jiffies).</summary>
    public ulong TimerExpires { get; internal set; }
    /// <summary>timer_start: bucket_expiry= (the wheel bucket's expiry, jiffies); timer_expire_entry: baseclk=.</summary>
    public ulong TimerBucket { get; internal set; }
    /// <summary>timer_start: cpu= (the timer base the timer was queued on).</summary>
    public int TimerCpu { get; internal set; }

    /// <summary>Set by the replay's reorder window on interrupt records it placed after a map call that was traced
    /// after them: a later call's backward scan stops there (the records before it are older than that call).</summary>
    internal bool ReorderBarrier;

    /// <summary>Set by the replay's reorder window on an interrupt record that may have run after the allocation of
    /// the later call at this line (the trace cannot tell): the replayer asks the model before replaying it.</summary>
    internal long FloatLine;
    /// <summary>With <see cref="FloatLine"/> on a strict domain's unmap call: the IOVA page it frees (the range the
    /// allocation would get after it); 0 otherwise.</summary>
    internal ulong FloatFreedIova;
    internal ulong FloatFreedPages;

    /// <summary>Set by the replay on a call whose place among interrupts was chosen by the model's preview (the trace
    /// allowed more than one order): its compared addresses count as inferred.</summary>
    internal bool OrderInferred;

    public ReadOnlySpan<ulong> PhysAddrs => PhysBuf.AsSpan(0, PhysCount);
    public ReadOnlySpan<ulong> DmaAddrs => DmaBuf.AsSpan(0, DmaCount);
    public ReadOnlySpan<ulong> Lengths => LenBuf.AsSpan(0, LenCount);

    /// <summary>iommu:map / iommu:unmap IOVA (same storage as <see cref="DmaAddr"/>).</summary>
    public ulong Iova => DmaAddr;

    internal void Reset()
    {
        ReorderBarrier = false;
        FloatLine = 0;
        FloatFreedIova = FloatFreedPages = 0;
        OrderInferred = false;
        Kind = TraceEventKind.Unknown;
        Device = ""; DeviceId = -1;
        Dir = DmaDirection.Bidirectional; Attrs = DmaAttrs.None;
        DmaAddr = PhysAddr = Size = UnmappedSize = DmaMask = 0;
        Forced = Truncated = false;
        FullNents = FullEnts = Error = GroupId = FaultFlags = 0;
        Gfp = Driver = Message = TimerFunction = Stack = "";
        TimerJiffies = TimerExpires = TimerBucket = 0;
        TimerCpu = 0;
        PhysCount = DmaCount = LenCount = 0;
    }

    internal static void SetList(ref ulong[] buf, ref int count, ReadOnlySpan<ulong> values)
    {
        if (buf.Length < values.Length) buf = new ulong[values.Length];
        values.CopyTo(buf);
        count = values.Length;
    }

    public void SetPhysAddrs(ReadOnlySpan<ulong> v) => SetList(ref PhysBuf, ref PhysCount, v);
    public void SetDmaAddrs(ReadOnlySpan<ulong> v) => SetList(ref DmaBuf, ref DmaCount, v);
    public void SetLengths(ReadOnlySpan<ulong> v) => SetList(ref LenBuf, ref LenCount, v);

    /// <summary>
    /// Interrupt level the event was traced at, from the hardirq/softirq flag (third column character): 0 task,
    /// 1 softirq ('s'), 2 hardirq ('h', or 'H' for a hardirq that interrupted a softirq). 0 when the trace has no flags.
    /// </summary>
    public int IrqLevel => Flags.Length > 2 ? Flags[2] switch { 's' => 1, 'h' or 'H' => 2, _ => 0 } : 0;

    /// <summary>Copies every field of <paramref name="src"/> into this instance, reusing its list buffers (no
    /// allocation once the buffers are large enough): for windows that hold records past the next read.</summary>
    public void CopyFrom(TraceRecord src)
    {
        ReorderBarrier = src.ReorderBarrier;
        FloatLine = src.FloatLine;
        FloatFreedIova = src.FloatFreedIova;
        FloatFreedPages = src.FloatFreedPages;
        OrderInferred = src.OrderInferred;
        Line = src.Line; Kind = src.Kind; EventName = src.EventName; Task = src.Task; Pid = src.Pid; Cpu = src.Cpu;
        Flags = src.Flags; TimestampNs = src.TimestampNs; Device = src.Device; DeviceId = src.DeviceId; Dir = src.Dir;
        Attrs = src.Attrs; DmaAddr = src.DmaAddr; PhysAddr = src.PhysAddr; Size = src.Size; UnmappedSize = src.UnmappedSize;
        DmaMask = src.DmaMask; Forced = src.Forced; FullNents = src.FullNents; FullEnts = src.FullEnts;
        Truncated = src.Truncated; Error = src.Error; GroupId = src.GroupId; FaultFlags = src.FaultFlags; Gfp = src.Gfp;
        Driver = src.Driver; Message = src.Message; Stack = src.Stack;
        TimerFunction = src.TimerFunction; TimerJiffies = src.TimerJiffies; TimerExpires = src.TimerExpires;
        TimerBucket = src.TimerBucket; TimerCpu = src.TimerCpu;
        SetList(ref PhysBuf, ref PhysCount, src.PhysAddrs);
        SetList(ref DmaBuf, ref DmaCount, src.DmaAddrs);
        SetList(ref LenBuf, ref LenCount, src.Lengths);
    }

    /// <summary>A detached copy (for tests and tools that keep records).</summary>
    public TraceRecord Clone()
    {
        var c = (TraceRecord)MemberwiseClone();
        c.PhysBuf = PhysAddrs.ToArray();
        c.DmaBuf = DmaAddrs.ToArray();
        c.LenBuf = Lengths.ToArray();
        return c;
    }

    /// <summary>Builder for writers and tests: a record of <paramref name="kind"/> with the common columns set.</summary>
    public static TraceRecord Create(TraceEventKind kind, string task = "", int pid = 0, int cpu = 0, ulong timestampNs = 0,
                                     string device = "")
    {
        var r = new TraceRecord();
        r.Reset();
        r.Kind = kind;
        r.EventName = TraceEventNames.DefaultName(kind);
        r.Task = task; r.Pid = pid; r.Cpu = cpu; r.TimestampNs = timestampNs; r.Device = device;
        return r;
    }

    public TraceRecord With(DmaDirection dir = DmaDirection.Bidirectional, ulong dmaAddr = 0, ulong physAddr = 0,
                            ulong size = 0, DmaAttrs attrs = DmaAttrs.None)
    {
        Dir = dir; DmaAddr = dmaAddr; PhysAddr = physAddr; Size = size; Attrs = attrs;
        return this;
    }

    public void SetMessage(string message) => Message = message;
    public void SetFlags(string flags) => Flags = flags;
    public void SetSg(int fullNents, int fullEnts, bool truncated) { FullNents = fullNents; FullEnts = fullEnts; Truncated = truncated; }
    public void SetIommu(ulong unmappedSize = 0, int groupId = 0, int faultFlags = 0, string driver = "")
    { UnmappedSize = unmappedSize; GroupId = groupId; FaultFlags = faultFlags; Driver = driver; }
    public void SetSwiotlb(ulong dmaMask, bool forced) { DmaMask = dmaMask; Forced = forced; }
    public void SetAlloc(string gfp) => Gfp = gfp;
    public void SetError(int err) => Error = err;
    public void SetEventName(string name) => EventName = name;
    public void SetTimer(string function, ulong jiffies, ulong expires = 0, ulong bucket = 0, int timerCpu = 0)
    { TimerFunction = function; TimerJiffies = jiffies; TimerExpires = expires; TimerBucket = bucket; TimerCpu = timerCpu; }
}
