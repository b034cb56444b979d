namespace DmaLab.Trace;

/// <summary>
/// A run of whole lines of ftrace text and what parsing it gave: the records of its event lines and the counts the
/// reader keeps (<see cref="TraceReadStats"/>) for these lines alone, with line numbers counted from the run's
/// start. <see cref="FtraceReader"/> merges runs into its stats in input order, so runs can be parsed out of order,
/// on several threads, and give exactly what one pass over the lines gives. Reused: <see cref="Clear"/> keeps the
/// buffers.
/// </summary>
internal sealed class FtraceChunk
{
    // ---- the text (read-ahead threads copy it here; the single-threaded reader parses the line source's span) ----
    public byte[] Text = [];
    public int TextLength;
    /// <summary>The run is one line without its terminator (see <see cref="TraceLineSource.TryReadBlock"/>).</summary>
    public bool SingleLine;
    /// <summary>That single line was longer than <see cref="TraceLineSource.MaxLineBytes"/> and was cut.</summary>
    public bool Cut;
    /// <summary>Text offset after the run.</summary>
    public long EndOffset;
    /// <summary>Lines of the input before this run (set when the run is merged).</summary>
    public long BaseLine;
    /// <summary>Nothing follows this run (end of input, or <see cref="Error"/>).</summary>
    public bool Last;
    /// <summary>Reading the input failed after this run's text (a corrupt .xz, an I/O error): raised when the
    /// consumer gets here, after the run's records, as the single-threaded reader would.</summary>
    public Exception? Error;
    public long ErrorOffset;

    // ---- what parsing gave -------------------------------------------------------------------------------------
    /// <summary>The run's events, in order (<see cref="Count"/> of them).</summary>
    public PackedRecord[] Packed = new PackedRecord[256];
    public int Count;
    /// <summary>Whole records of the events that do not pack (<see cref="PackedRecord.Full"/>).</summary>
    public TraceRecord[] Records = [];
    public int FullCount;
    /// <summary>The sg lists of the packed events.</summary>
    public ulong[] ListPool = new ulong[1024];
    public int ListUsed;
    public long Lines, CommentLines, BlankLines, EventLines, UnknownEventLines, TimerLines, MalformedLines, LostEventCount;
    /// <summary>Lines of stack traces ("&lt;stack trace&gt;" entries and their frames) and the stacks that had no event
    /// before them in the run to belong to.</summary>
    public long StackLines, OrphanStacks;
    /// <summary>Stacks of the run's packed events (<see cref="PackedRecord.Stack"/>).</summary>
    public readonly List<string> Stacks = new();
    /// <summary>Malformed lines so far at the last unparseable line before the run's first event line (0: none):
    /// the reader gives up on input that has no event line among its first lines.</summary>
    public long MalformedAtLastCheck;
    public readonly List<MalformedLine> Malformed = new();
    public readonly List<LostEvents> Lost = new();
    public ulong FirstTimestampNs, LastTimestampNs;
    /// <summary>Header comment values seen before the run's first event line (null: not seen).</summary>
    public string? Tracer;
    public (long, long)? Entries;
    public int? Cpus;
    /// <summary>Event lines by the event name's id in the reader's shared event-name table.</summary>
    public long[] EventCounts = new long[64];
    public int EventIdsUsed;

    public void Clear()
    {
        TextLength = 0; SingleLine = Cut = Last = false; EndOffset = 0; Error = null; ErrorOffset = 0;
        Count = FullCount = ListUsed = 0;
        Lines = CommentLines = BlankLines = EventLines = UnknownEventLines = TimerLines = MalformedLines = LostEventCount = 0;
        StackLines = OrphanStacks = 0;
        Stacks.Clear();
        MalformedAtLastCheck = 0;
        Malformed.Clear();
        Lost.Clear();
        FirstTimestampNs = LastTimestampNs = 0;
        Tracer = null; Entries = null; Cpus = null;
        EventCounts.AsSpan(0, EventIdsUsed).Clear();
        EventIdsUsed = 0;
    }

    /// <summary>Appends the event parsed into <paramref name="r"/> (a record of the parsing thread's, reused line
    /// after line), packed when it fits, else as a copy of the whole record.</summary>
    public void Add(TraceRecord r, int line, int deviceId, int taskId, int flagsId, int eventId)
    {
        if (Count == Packed.Length) Array.Resize(ref Packed, Packed.Length * 2);
        ref var p = ref Packed[Count++];
        p.TimestampNs = r.TimestampNs; p.DmaAddr = r.DmaAddr; p.PhysAddr = r.PhysAddr; p.Size = r.Size; p.Attrs = r.Attrs;
        p.Line = line; p.Pid = r.Pid; p.Cpu = r.Cpu;
        p.DeviceId = deviceId; p.TaskId = taskId; p.FlagsId = flagsId; p.EventId = eventId;
        p.FullNents = r.FullNents; p.FullEnts = r.FullEnts;
        p.Kind = r.Kind; p.Dir = r.Dir; p.Truncated = r.Truncated; p.Stack = -1;
        if (!PackedRecord.Fits(r))
        {
            if (FullCount == Records.Length)
            {
                Array.Resize(ref Records, Math.Max(16, Records.Length * 2));
                for (int i = FullCount; i < Records.Length; i++) Records[i] = new TraceRecord(listCapacity: 8);
            }
            Records[FullCount].CopyFrom(r);
            p.Full = FullCount++;
            p.ListStart = 0; p.PhysCount = p.DmaCount = p.LenCount = 0;
            return;
        }
        p.Full = -1;
        int lists = r.PhysCount + r.DmaCount + r.LenCount;
        p.ListStart = ListUsed;
        p.PhysCount = (ushort)r.PhysCount; p.DmaCount = (ushort)r.DmaCount; p.LenCount = (ushort)r.LenCount;
        if (lists == 0) return;
        if (ListUsed + lists > ListPool.Length) Array.Resize(ref ListPool, Math.Max(ListUsed + lists, ListPool.Length * 2));
        var pool = ListPool.AsSpan(ListUsed);
        r.PhysAddrs.CopyTo(pool);
        r.DmaAddrs.CopyTo(pool[r.PhysCount..]);
        r.Lengths.CopyTo(pool[(r.PhysCount + r.DmaCount)..]);
        ListUsed += lists;
    }

    /// <summary>Gives event <paramref name="index"/> of the run its stack.</summary>
    public void SetStack(int index, string stack)
    {
        ref var p = ref Packed[index];
        if (p.Full >= 0) Records[p.Full].Stack = stack;
        else { p.Stack = Stacks.Count; Stacks.Add(stack); }
    }

    public void CountEvent(int nameId)
    {
        if (nameId >= EventCounts.Length) Array.Resize(ref EventCounts, Math.Max(nameId + 1, EventCounts.Length * 2));
        EventCounts[nameId]++;
        if (nameId >= EventIdsUsed) EventIdsUsed = nameId + 1;
    }

    /// <summary>Copies a run of text in (read-ahead threads: the line source's span does not outlive the next read).</summary>
    public void SetText(ReadOnlySpan<byte> text)
    {
        if (Text.Length < text.Length) Text = new byte[Math.Max(text.Length, FtraceReader.BlockBytes)];
        text.CopyTo(Text);
        TextLength = text.Length;
    }
}
