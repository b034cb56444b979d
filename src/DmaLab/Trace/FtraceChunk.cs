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
    public TraceRecord[] Records = [];
    public int Count;
    public long Lines, CommentLines, BlankLines, EventLines, UnknownEventLines, MalformedLines, LostEventCount;
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
        Count = 0;
        Lines = CommentLines = BlankLines = EventLines = UnknownEventLines = MalformedLines = LostEventCount = 0;
        MalformedAtLastCheck = 0;
        Malformed.Clear();
        Lost.Clear();
        FirstTimestampNs = LastTimestampNs = 0;
        Tracer = null; Entries = null; Cpus = null;
        EventCounts.AsSpan(0, EventIdsUsed).Clear();
        EventIdsUsed = 0;
    }

    /// <summary>The next record slot (reset by the parser); it becomes part of the run when <see cref="Count"/>
    /// is advanced past it.</summary>
    public TraceRecord NextRecord()
    {
        if (Count == Records.Length)
        {
            Array.Resize(ref Records, Math.Max(64, Records.Length * 2));
            for (int i = Count; i < Records.Length; i++) Records[i] = new TraceRecord(listCapacity: 8);
        }
        return Records[Count];
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
        if (Text.Length < text.Length) Text = new byte[Math.Max(text.Length, 64 * 1024)];
        text.CopyTo(Text);
        TextLength = text.Length;
    }
}
