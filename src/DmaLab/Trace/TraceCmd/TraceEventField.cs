namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// One field of an event's binary record as its tracefs <c>format</c> file declares it
/// ("field:u64 dma_addr;	offset:24;	size:8;	signed:0;"; Linux: kernel/trace/trace_events.c, f_show()): where it
/// lies in the record, how wide it is, whether it is signed, and its shape — a scalar, a fixed array
/// ("char comm[16]"), or a dynamic array / string whose 32-bit location word holds offset (low 16 bits) and length
/// (high 16 bits) of the data within the record (<c>__data_loc</c>; <c>__rel_loc</c> counts the offset from the end
/// of the location word).
/// </summary>
public sealed class TraceEventField
{
    public required string Name { get; init; }
    /// <summary>The C type as declared, without the name ("u64", "__data_loc char[]", "unsigned int").</summary>
    public required string Type { get; init; }
    public required int Offset { get; init; }
    public required int Size { get; init; }
    public required bool Signed { get; init; }
    /// <summary>A <c>__data_loc</c> or <c>__rel_loc</c> dynamic array or string.</summary>
    public bool DataLoc { get; init; }
    /// <summary><c>__rel_loc</c>: the data offset counts from the end of the 4-byte location word.</summary>
    public bool RelLoc { get; init; }
    /// <summary>A fixed-size array ("u64 addrs[4]"), <see cref="Size"/> bytes in all.</summary>
    public bool FixedArray { get; init; }
    /// <summary>Element type is char: a string (NUL-terminated within its bytes).</summary>
    public bool IsString { get; init; }
    /// <summary>Bytes per element of an array (from the element type; <see cref="Size"/> for scalars).</summary>
    public int ElementSize { get; init; }
}
