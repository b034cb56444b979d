using DmaLab.Dma;

namespace DmaLab.Trace;

/// <summary>
/// A parsed event as it is handed from a parsing thread to the thread that replays it: the fields of the common
/// events (map/unmap, sg, sync, iommu map, unknown headers) in about a cache line and a half, names as ids, the sg
/// lists in the run's shared pool. A <see cref="TraceRecord"/> is several cache lines and three arrays, and each line
/// written on one core and read on another costs a cross-core transfer; the reader thread unpacks this into a
/// record of its own instead (<see cref="FtraceReader.Take"/>). Events with any other field set (alloc gfp flags,
/// markers, faults, swiotlb masks, unmapped sizes, errors, groups, timers) keep a whole record (<see cref="Full"/>).
/// </summary>
internal struct PackedRecord
{
    public ulong TimestampNs, DmaAddr, PhysAddr, Size;
    public DmaAttrs Attrs;
    /// <summary>Line number within the run.</summary>
    public int Line;
    public int Pid, Cpu;
    /// <summary>Ids in the reader's shared name tables (device: parse order; -1 none; flags: -1 empty).</summary>
    public int DeviceId, TaskId, FlagsId, EventId;
    public int FullNents, FullEnts;
    /// <summary>Index of the whole record in the run's <see cref="FtraceChunk.Records"/>, or -1.</summary>
    public int Full;
    /// <summary>The phys, dma and length lists, one after the other, at <see cref="ListStart"/> in the run's pool.</summary>
    public int ListStart;
    /// <summary>Index of the event's stack in the run's <see cref="FtraceChunk.Stacks"/>, or -1 (no stack).</summary>
    public int Stack;
    public ushort PhysCount, DmaCount, LenCount;
    public TraceEventKind Kind;
    public DmaDirection Dir;
    public bool Truncated;

    /// <summary>True when <paramref name="r"/> has nothing outside the packed fields.</summary>
    public static bool Fits(TraceRecord r) =>
        r.UnmappedSize == 0 && r.DmaMask == 0 && !r.Forced && r.Error == 0 && r.GroupId == 0 && r.FaultFlags == 0
        && r.Gfp.Length == 0 && r.Driver.Length == 0 && r.Message.Length == 0 && r.TimerFunction.Length == 0
        && r.PhysCount <= ushort.MaxValue && r.DmaCount <= ushort.MaxValue && r.LenCount <= ushort.MaxValue;
}
