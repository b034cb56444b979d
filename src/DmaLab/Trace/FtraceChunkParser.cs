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
        if (c.SingleLine)
        {
            ParseLine(text, c);
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
    }

    void ParseLine(ReadOnlySpan<byte> line, FtraceChunk c)
    {
        long lineNo = ++c.Lines;
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
                c.LostEventCount += Math.Max(0, lostCount);
                if (c.Lost.Count < TraceReadStats.MaxListed) c.Lost.Add(new LostEvents(lineNo, lostCpu, lostCount));
                return;
            case FtraceLineParser.LineType.Malformed:
                AddMalformed(c, lineNo, reason ?? "unrecognised line", line);
                if (c.EventLines == 0) c.MalformedAtLastCheck = c.MalformedLines;
                return;
        }
        if (c.Cut) { AddMalformed(c, lineNo, "line longer than 1 MiB", line); return; }

        c.EventLines++;
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

    static void AddMalformed(FtraceChunk c, long lineNo, string reason, ReadOnlySpan<byte> line)
    {
        c.MalformedLines++;
        if (c.Malformed.Count < TraceReadStats.MaxListed)
            c.Malformed.Add(new MalformedLine(lineNo, reason, Encoding.UTF8.GetString(line[..Math.Min(line.Length, 200)])));
    }

    /// <summary>The header tracefs prints before the events: "# tracer: NAME", "# entries-in-buffer/entries-written:
    /// A/B   #P:N" (Linux: kernel/trace/trace.c, print_event_info()).</summary>
    static void ReadHeaderComment(ReadOnlySpan<byte> line, FtraceChunk c)
    {
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
