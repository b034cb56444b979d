namespace DmaLab.Trace;

/// <summary>A line the reader could not parse: where, why, and its first 200 characters.</summary>
public sealed record MalformedLine(long Line, string Reason, string Text);

/// <summary>A "CPU:N [LOST N EVENTS]" line: the ring buffer overwrote or dropped events on that CPU.</summary>
public sealed record LostEvents(long Line, int Cpu, long Count);

/// <summary>What the reader saw, line by line. Counts are exact; the lists keep the first few only.</summary>
public sealed class TraceReadStats
{
    public const int MaxListed = 20;

    internal readonly NameTable EventNames = new();
    internal long[] EventCountById = new long[64];

    /// <summary>All lines read, comments included.</summary>
    public long Lines { get; internal set; }
    public long CommentLines { get; internal set; }
    public long BlankLines { get; internal set; }
    /// <summary>Lines in the TASK-PID [CPU] ... EVENT: form (known or unknown event, parsed or not).</summary>
    public long EventLines { get; internal set; }
    /// <summary>Event lines of events the reader does not model (counted by name in <see cref="EventCounts"/>).</summary>
    public long UnknownEventLines { get; internal set; }
    /// <summary>timer:* event lines (counted by name in <see cref="EventCounts"/>): only the flush queue's
    /// timer_start and timer_expire_entry (function=fq_flush_timeout) become records; the others concern no DMA.</summary>
    public long TimerLines { get; internal set; }
    /// <summary>Lines of kernel stack traces (options/stacktrace), attached to the events they follow.</summary>
    public long StackLines { get; internal set; }
    /// <summary>Stack traces with no event before them on their CPU to attach to (counted, not used).</summary>
    public long OrphanStacks { get; internal set; }
    /// <summary>Lines not understood: counted, skipped; the first <see cref="MaxListed"/> are in <see cref="Malformed"/>.</summary>
    public long MalformedLines { get; internal set; }
    public List<MalformedLine> Malformed { get; } = new();
    public List<LostEvents> Lost { get; } = new();
    /// <summary>Sum of the counts in "[LOST N EVENTS]" lines (a line without a count adds 0).</summary>
    public long LostEventCount { get; internal set; }
    /// <summary>Bytes of text read (decompressed).</summary>
    public long TextBytes { get; internal set; }
    public ulong FirstTimestampNs { get; internal set; }
    public ulong LastTimestampNs { get; internal set; }
    /// <summary>"# tracer: nop" header value when present.</summary>
    public string Tracer { get; internal set; } = "";
    /// <summary>"# entries-in-buffer/entries-written: A/B" when present (A, B), else (-1, -1).</summary>
    public (long InBuffer, long Written) Entries { get; internal set; } = (-1, -1);
    /// <summary>"#P:N" of the header: CPUs the trace buffer had (possible CPUs), -1 when absent.</summary>
    public int Cpus { get; internal set; } = -1;
    /// <summary>Offset in the (decompressed) input where binary data started after the text, -1 when none: the text
    /// before it was read, the rest (<see cref="BinaryBytesDropped"/> bytes from line <see cref="BinaryLine"/>) was not.</summary>
    public long BinaryOffset { get; internal set; } = -1;
    public long BinaryLine { get; internal set; }
    public long BinaryBytesDropped { get; internal set; }
    /// <summary>Compression detected on the input ("none", "xz", "gzip"; for a .dat also its own: "zstd", "xz+zstd").</summary>
    public string Compression { get; internal set; } = "none";
    /// <summary>What the input was: "ftrace text" or "trace-cmd .dat v7" (then <see cref="Lines"/> and
    /// <see cref="EventLines"/> count records and <see cref="TextBytes"/> ring-buffer page bytes).</summary>
    public string Format { get; internal set; } = "ftrace text";
    /// <summary>What the input held that was not read (a .dat's other trace instances), one sentence each.</summary>
    public List<string> Notes { get; } = new();

    internal void CountEvents(int nameId, long n)
    {
        if (nameId >= EventCountById.Length) Array.Resize(ref EventCountById, Math.Max(nameId + 1, EventCountById.Length * 2));
        EventCountById[nameId] += n;
    }

    /// <summary>Every event line by event name as printed (known and unknown), in ordinal name order.</summary>
    public SortedDictionary<string, long> EventCounts
    {
        get
        {
            var d = new SortedDictionary<string, long>(StringComparer.Ordinal);
            lock (EventNames) // parsing threads may be interning names they have read ahead (counted 0 until merged)
                for (int i = 0; i < EventNames.Count && i < EventCountById.Length; i++)
                    if (EventCountById[i] > 0) d[EventNames[i]] = EventCountById[i];
            return d;
        }
    }

    /// <summary>Count of one event name (0 when absent).</summary>
    public long CountOf(string eventName)
    {
        lock (EventNames)
            return EventNames.TryGet(eventName, out int id) && id < EventCountById.Length ? EventCountById[id] : 0;
    }
}
