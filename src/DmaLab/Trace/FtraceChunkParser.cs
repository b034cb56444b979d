using System.Text;

namespace DmaLab.Trace;

/// <summary>
/// Parses runs of ftrace lines into <see cref="FtraceChunk"/>s: one per parsing thread, each with its own field
/// parser and name caches over the reader's shared name tables. Classifies each line (event, comment, blank,
/// lost events, malformed), parses the header and the fields of known events, interns names and counts what it
/// sees. Bad lines are counted and listed, never thrown.
/// </summary>
internal sealed class FtraceChunkParser
{
    readonly FtraceReaderOptions _options;
    readonly FtraceLineParser _parser;
    readonly NameView _tasks, _strings, _events, _devices;
    // The record each line is parsed into (this thread's, so it stays in this core's cache), then packed into the run.
    readonly TraceRecord _scratch = new();
    TraceEventKind[] _kindById = new TraceEventKind[64];
    // The stack being read: its frames so far ('\n'-separated) and the run's event it belongs to (-1: none).
    byte[] _stack = new byte[512];
    int _stackLength, _stackTarget = -1;
    bool _inStack, _leading;
    bool[] _kindKnown = new bool[64];

    public FtraceChunkParser(FtraceReaderOptions options, NameTable devices, NameTable strings, NameTable tasks, NameTable events)
    {
        _options = options;
        _strings = new NameView(strings);
        _tasks = new NameView(tasks);
        _events = new NameView(events);
        _devices = new NameView(devices);
        _parser = new FtraceLineParser(_devices, _strings) { FastPath = !options.GeneralParserOnly };
    }

    /// <summary>Parses every line of <paramref name="text"/> into <paramref name="c"/> (cleared by the caller; its
    /// <see cref="FtraceChunk.SingleLine"/> and <see cref="FtraceChunk.Cut"/> describe the text).</summary>
    public void Parse(ReadOnlySpan<byte> text, FtraceChunk c)
    {
        _leading = true;
        if (c.SingleLine)
        {
            ParseLine(text, c);
            EndStack(c);
            return;
        }
        int pos = 0;
        while (pos < text.Length)
        {
            int nl = text[pos..].IndexOf((byte)'\n');
            int end = nl < 0 ? text.Length : pos + nl;
            int e = end;
            if (e > pos && text[e - 1] == (byte)'\r') e--;
            ParseLine(text[pos..e], c);
            pos = end + 1;
        }
        EndStack(c);
    }

    void ParseLine(ReadOnlySpan<byte> line, FtraceChunk c)
    {
        long lineNo = ++c.Lines;
        // A stack frame: " => func+0x12/0x40 [module]" (trace_output.c, trace_stack_print()). Rare; three byte tests.
        if (line.Length > 4 && line[2] == (byte)'>' && line[1] == (byte)'=' && line[0] == (byte)' ')
        {
            if (_inStack) { AddFrame(line[4..]); c.StackLines++; return; }
            if (_leading)
            {
                // the tail of a stack whose entry ended the previous run: its event is out of reach, counted
                if (c.StackLines == 0) c.OrphanStacks++;
                c.StackLines++;
                return;
            }
        }
        else if (_inStack) EndStack(c);
        _leading = false;
        FtraceLineParser.Header h = default;
        string? reason = null;
        int lostCpu = -1;
        long lostCount = 0;
        var type = !_options.GeneralParserOnly && FtraceLineParser.TryParseHeaderFast(line, ref h)
            ? FtraceLineParser.LineType.Event
            : FtraceLineParser.Classify(line, out h, out reason, out lostCpu, out lostCount);
        switch (type)
        {
            case FtraceLineParser.LineType.Blank: c.BlankLines++; return;
            case FtraceLineParser.LineType.Comment:
                c.CommentLines++;
                if (c.EventLines == 0) ReadHeaderComment(line, c);
                return;
            case FtraceLineParser.LineType.Lost:
                c.LostEventCount = SaturatingAdd(c.LostEventCount, lostCount);
                if (c.Lost.Count < TraceReadStats.MaxListed) c.Lost.Add(new LostEvents(lineNo, lostCpu, lostCount));
                return;
            case FtraceLineParser.LineType.Malformed:
                if (TryBeginStack(line, c)) { c.StackLines++; return; }
                AddMalformed(c, lineNo, reason ?? "unrecognised line", line);
                if (c.EventLines == 0) c.MalformedAtLastCheck = c.MalformedLines;
                return;
        }
        if (c.Cut) { AddMalformed(c, lineNo, "line longer than 1 MiB", line); return; }

        c.EventLines++;
        if (h.Event.SequenceEqual("print"u8)) UnwrapPrint(ref h);
        int nameId = _events.Intern(h.Event);
        c.CountEvent(nameId);
        string eventName = _events[nameId];
        var kind = KindOf(nameId, eventName);
        if (c.EventLines == 1) c.FirstTimestampNs = h.TimestampNs;
        if (h.TimestampNs > c.LastTimestampNs) c.LastTimestampNs = h.TimestampNs;

        var r = _scratch;
        r.Reset();
        r.Line = lineNo;
        r.EventName = eventName;
        int taskId = _tasks.Intern(h.Task);
        r.Task = _tasks[taskId];
        r.Pid = h.Pid;
        r.Cpu = h.Cpu;
        int flagsId = -1;
        if (!h.Flags.IsEmpty)
        {
            flagsId = _strings.Intern(h.Flags);
            r.Flags = _strings[flagsId];
        }
        else r.Flags = "";
        r.TimestampNs = h.TimestampNs;
        if (kind is TraceEventKind.TimerStart or TraceEventKind.TimerExpireEntry)
        {
            c.TimerLines++;
            // Only the flush queue's timer matters to the replay; the wheel's other timers are counted, not kept.
            if (h.Fields.IndexOf("function=fq_flush_timeout "u8) < 0) return;
        }
        else if (kind == TraceEventKind.Unknown && TraceEventNames.IsOtherTimerEvent(eventName))
        {
            c.TimerLines++;
            return;
        }
        if (kind == TraceEventKind.Unknown)
        {
            c.UnknownEventLines++;
            if (_options.ReturnUnknownEvents) c.Add(r, (int)lineNo, -1, taskId, flagsId, nameId);
            return;
        }
        if (!_parser.TryParseFields(kind, h.Fields, r, out reason))
        {
            AddMalformed(c, lineNo, $"{eventName}: {reason}", line);
            return;
        }
        r.Kind = kind;
        c.Add(r, (int)lineNo, r.DeviceId, taskId, flagsId, nameId);
    }

    /// <summary>
    /// `trace-cmd report` prints ftrace's print event (a trace_marker write) as "print: tracing_mark_write: TEXT",
    /// where tracefs prints "tracing_mark_write: TEXT" (the function its ip lies in, then the text): the event is
    /// named by that function, as in tracefs.
    /// </summary>
    static void UnwrapPrint(ref FtraceLineParser.Header h)
    {
        var f = h.Fields;
        int colon = f.IndexOf((byte)':');
        if (colon <= 0 || colon > 64) return;
        var sym = f[..colon];
        foreach (byte b in sym)
            if (!(b is >= (byte)'a' and <= (byte)'z' || b is >= (byte)'A' and <= (byte)'Z' || b is >= (byte)'0' and <= (byte)'9' || b is (byte)'_' or (byte)'.'))
                return;
        h.Event = sym;
        int start = colon + 1;
        if (start < f.Length && f[start] == (byte)' ') start++;
        h.Fields = f[start..];
    }

    /// <summary>
    /// "TASK-PID [CPU] FLAGS TIMESTAMP: &lt;stack trace&gt;": the stack entry ftrace records right after an event on the
    /// same CPU when options/stacktrace is set. Its frames follow on lines of their own; they belong to the latest event
    /// of this run on that CPU (none: an orphan, counted).
    /// </summary>
    bool TryBeginStack(ReadOnlySpan<byte> line, FtraceChunk c)
    {
        int at = line.IndexOf(": <stack trace>"u8);
        if (at < 0 || !line[(at + 15)..].Trim((byte)' ').IsEmpty) return false;
        int cpu = CpuColumn(line[..at]);
        if (cpu < 0) return false;
        _inStack = true;
        _stackLength = 0;
        _stackTarget = -1;
        for (int i = c.Count - 1; i >= 0 && i >= c.Count - 64; i--)
            if (c.Packed[i].Cpu == cpu) { _stackTarget = i; break; }
        if (_stackTarget < 0) c.OrphanStacks++;
        return true;
    }

    /// <summary>The number in the first "[digits]" column, or -1.</summary>
    static int CpuColumn(ReadOnlySpan<byte> s)
    {
        for (int i = s.IndexOf((byte)'['); i >= 0 && i < s.Length; )
        {
            int j = i + 1, v = 0;
            while (j < s.Length && s[j] >= (byte)'0' && s[j] <= (byte)'9' && j - i < 8) v = v * 10 + (s[j++] - '0');
            if (j > i + 1 && j < s.Length && s[j] == (byte)']') return v;
            int next = s[(i + 1)..].IndexOf((byte)'[');
            i = next < 0 ? -1 : i + 1 + next;
        }
        return -1;
    }

    void AddFrame(ReadOnlySpan<byte> frame)
    {
        frame = frame.Trim((byte)' ');
        if (frame.IsEmpty) return;
        int need = _stackLength + frame.Length + 1;
        if (need > _stack.Length) Array.Resize(ref _stack, Math.Max(need, _stack.Length * 2));
        if (_stackLength > 0) _stack[_stackLength++] = (byte)'\n';
        frame.CopyTo(_stack.AsSpan(_stackLength));
        _stackLength += frame.Length;
    }

    /// <summary>Ends the stack being read: interned (the same call path repeats) and given to its event.</summary>
    void EndStack(FtraceChunk c)
    {
        if (!_inStack) return;
        _inStack = false;
        if (_stackTarget >= 0 && _stackLength > 0) c.SetStack(_stackTarget, _strings[_strings.Intern(_stack.AsSpan(0, _stackLength))]);
        _stackTarget = -1;
    }

    /// <summary>The names behind the ids of a packed record (the reader thread's views).</summary>
    public string TaskName(int id) => _tasks.NameOf(id);
    public string FlagsName(int id) => id < 0 ? "" : _strings.NameOf(id);
    public string EventName(int id) => _events.NameOf(id);
    public string DeviceName(int id) => _devices.NameOf(id);

    /// <summary>Event kind by event-name id (each distinct name is looked up once).</summary>
    TraceEventKind KindOf(int nameId, string name)
    {
        if (nameId >= _kindById.Length)
        {
            Array.Resize(ref _kindById, Math.Max(nameId + 1, _kindById.Length * 2));
            Array.Resize(ref _kindKnown, _kindById.Length);
        }
        if (!_kindKnown[nameId]) { _kindById[nameId] = TraceEventNames.KindOf(name); _kindKnown[nameId] = true; }
        return _kindById[nameId];
    }

    /// <summary>Counts from the input add up to long.MaxValue and stay there, never wrap (negatives add nothing).</summary>
    internal static long SaturatingAdd(long total, long n) => n <= 0 ? total : total > long.MaxValue - n ? long.MaxValue : total + n;

    static void AddMalformed(FtraceChunk c, long lineNo, string reason, ReadOnlySpan<byte> line)
    {
        c.MalformedLines++;
        if (c.Malformed.Count < TraceReadStats.MaxListed)
            c.Malformed.Add(new MalformedLine(lineNo, reason, Encoding.UTF8.GetString(line[..Math.Min(line.Length, 200)])));
    }

    /// <summary>The header tracefs prints before the events: "# tracer: NAME", "# entries-in-buffer/entries-written:
    /// A/B   #P:N" (Linux: kernel/trace/trace.c, print_event_info()); and `trace-cmd report`'s "cpus=N".</summary>
    static void ReadHeaderComment(ReadOnlySpan<byte> line, FtraceChunk c)
    {
        if (line.StartsWith("cpus="u8))
        {
            // `trace-cmd report`'s first line: the CPUs of the recorded buffer.
            int n = 0, j = 5;
            while (j < line.Length && line[j] >= (byte)'0' && line[j] <= (byte)'9' && n < 1_000_000) n = n * 10 + (line[j++] - '0');
            if (j > 5) c.Cpus = n;
            return;
        }
        int i = line.IndexOf("# tracer: "u8);
        if (i >= 0) { c.Tracer = Encoding.UTF8.GetString(line[(i + 10)..]).Trim(); return; }
        i = line.IndexOf("entries-in-buffer/entries-written: "u8);
        if (i >= 0)
        {
            var s = Encoding.ASCII.GetString(line[(i + 35)..]);
            int sp = s.IndexOf(' ');
            if (sp > 0) s = s[..sp];
            var parts = s.Split('/');
            if (parts.Length == 2 && long.TryParse(parts[0], out long a) && long.TryParse(parts[1], out long b)) c.Entries = (a, b);
        }
        i = line.IndexOf("#P:"u8);
        if (i >= 0)
        {
            int n = 0, j = i + 3;
            while (j < line.Length && line[j] >= (byte)'0' && line[j] <= (byte)'9' && n < 1_000_000) n = n * 10 + (line[j++] - '0');
            if (j > i + 3) c.Cpus = n;
        }
    }
}
