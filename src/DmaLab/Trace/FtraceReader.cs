using System.IO.Compression;
using System.Text;
using SharpCompress.Compressors.Xz;

namespace DmaLab.Trace;

/// <summary>
/// Streams kernel ftrace text (tracefs trace / trace_pipe, or `trace-cmd report`) from any stream — plain, .xz or
/// .gz (detected by magic number, so stdin works too) — in constant memory: one pooled line buffer, one reused
/// <see cref="TraceRecord"/>, interned names. Comment/header lines are skipped (the tracer and entry counts are
/// kept), unknown events are counted by name, lost-events lines and malformed lines are recorded in
/// <see cref="Stats"/>. Input that is not ftrace text at all throws <see cref="TraceFormatException"/>.
/// </summary>
public sealed class FtraceReader : IDisposable
{
    static readonly byte[] XzMagic = [0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00];
    static readonly byte[] TraceCmdMagic = [0x17, 0x08, 0x44, (byte)'t', (byte)'r', (byte)'a', (byte)'c', (byte)'i', (byte)'n', (byte)'g'];

    readonly string _source;
    readonly FtraceReaderOptions _options;
    readonly CountingStream _counted;
    readonly long _inputLength;
    readonly TraceLineSource _lines;
    readonly FtraceLineParser _parser;
    readonly TraceRecord _record = new();
    readonly NameTable _tasks = new();
    long _nextProgress;

    /// <summary>Devices seen so far (dev_name), in order of first appearance; <see cref="TraceRecord.DeviceId"/> indexes it.</summary>
    public NameTable Devices { get; } = new();
    /// <summary>Other interned strings (gfp flags, drivers).</summary>
    internal NameTable Strings { get; } = new();
    public TraceReadStats Stats { get; } = new();
    public string SourceName => _source;
    /// <summary>The current record, valid after <see cref="Read"/> returned true and until the next call.</summary>
    public TraceRecord Current => _record;

    /// <param name="stream">the raw input (file, stdin, .xz or .gz); the reader owns and disposes it</param>
    /// <param name="sourceName">file name for messages</param>
    public FtraceReader(Stream stream, string sourceName, FtraceReaderOptions? options = null)
    {
        _source = sourceName;
        _options = options ?? new FtraceReaderOptions();
        _inputLength = stream.CanSeek ? SafeLength(stream) : -1;
        _counted = new CountingStream(stream);
        _parser = new FtraceLineParser(Devices, Strings) { FastPath = !_options.GeneralParserOnly };
        Stream text = OpenDecompressed(_counted);
        _lines = new TraceLineSource(text);
        _nextProgress = _options.ProgressEveryLines;
        CheckLooksLikeText();
    }

    static long SafeLength(Stream s) { try { return s.Length; } catch (NotSupportedException) { return -1; } }

    Stream OpenDecompressed(Stream raw)
    {
        var head = new byte[8];
        int n = 0;
        try
        {
            while (n < head.Length)
            {
                int r = raw.Read(head, n, head.Length - n);
                if (r <= 0) break;
                n += r;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new TraceFormatException(_source, 0, 0, $"cannot read input ({ex.Message})", ex);
        }
        var replay = new PrefixedStream(head, n, raw);
        var span = head.AsSpan(0, n);
        if (span.StartsWith(XzMagic))
        {
            Stats.Compression = "xz";
            try { return (_options.ManagedXz ? null : LibLzmaStream.TryOpen(replay)) ?? (Stream)new XZStream(replay); }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw new TraceFormatException(_source, 0, 0, $"corrupt .xz header, expected an xz stream ({FirstLine(ex.Message)})", ex);
            }
        }
        if (n >= 2 && head[0] == 0x1F && head[1] == 0x8B)
        {
            Stats.Compression = "gzip";
            return new GZipStream(replay, CompressionMode.Decompress);
        }
        return replay;
    }

    void CheckLooksLikeText()
    {
        ReadOnlySpan<byte> peek;
        try { peek = _lines.Peek(4096); }
        catch (Exception ex) when (ex is not OutOfMemoryException) { throw Wrap(ex); }
        if (peek.StartsWith(TraceCmdMagic))
            throw new TraceFormatException(_source, 0, 0,
                "this is a binary trace-cmd .dat file, not ftrace text; convert it with `trace-cmd report -i FILE > FILE.txt`");
        int control = 0;
        foreach (byte b in peek)
            if (b == 0 || (b < 0x09) || (b > 0x0D && b < 0x20 && b != 0x1B)) control++;
        if (control > 0 && control * 100 > peek.Length)
            throw new TraceFormatException(_source, 0, 0,
                "binary data, expected ftrace text (the output of /sys/kernel/tracing/trace or `trace-cmd report`)");
    }

    Exception Wrap(Exception ex)
    {
        string what = Stats.Compression switch
        {
            "xz" => "corrupt or truncated .xz data, expected a valid xz stream",
            "gzip" => "corrupt or truncated .gz data, expected a valid gzip stream",
            _ => "cannot read input",
        };
        return new TraceFormatException(_source, Stats.Lines + 1, _lines.Offset, $"{what} ({FirstLine(ex.Message)})", ex);
    }

    static string FirstLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }

    /// <summary>Advances to the next modelled event (and, with <see cref="FtraceReaderOptions.ReturnUnknownEvents"/>,
    /// unknown ones). False at the end of the input.</summary>
    public bool Read() => ReadInto(_record);

    internal FtraceReaderOptions Options => _options;

    /// <summary><see cref="Read"/> into a record of the caller's (the read-ahead thread fills its ring this way);
    /// <see cref="Current"/> is left alone.</summary>
    internal bool ReadInto(TraceRecord r)
    {
        while (true)
        {
            ReadOnlySpan<byte> line;
            try
            {
                if (!_lines.TryReadLine(out line))
                {
                    if (Stats.EventLines == 0 && Stats.MalformedLines > 0) throw NotFtrace();
                    ReportProgress();
                    return false;
                }
            }
            catch (TraceFormatException) { throw; }
            catch (Exception ex) when (ex is not OutOfMemoryException) { throw Wrap(ex); }

            long lineNo = ++Stats.Lines;
            Stats.TextBytes = _lines.Offset;
            if (lineNo >= _nextProgress) { _nextProgress += _options.ProgressEveryLines; ReportProgress(); }

            FtraceLineParser.Header h = default;
            string? reason = null;
            int lostCpu = -1;
            long lostCount = 0;
            var type = FtraceLineParser.TryParseHeaderFast(line, ref h) && !_options.GeneralParserOnly
                ? FtraceLineParser.LineType.Event
                : FtraceLineParser.Classify(line, out h, out reason, out lostCpu, out lostCount);
            switch (type)
            {
                case FtraceLineParser.LineType.Blank: Stats.BlankLines++; continue;
                case FtraceLineParser.LineType.Comment: Stats.CommentLines++; ReadHeaderComment(line); continue;
                case FtraceLineParser.LineType.Lost:
                    Stats.LostEventCount += Math.Max(0, lostCount);
                    if (Stats.Lost.Count < TraceReadStats.MaxListed) Stats.Lost.Add(new LostEvents(lineNo, lostCpu, lostCount));
                    continue;
                case FtraceLineParser.LineType.Malformed:
                    AddMalformed(lineNo, reason ?? "unrecognised line", line);
                    if (Stats.EventLines == 0 && Stats.MalformedLines >= NotFtraceAfter) throw NotFtrace();
                    continue;
            }
            if (_lines.LastLineCut) { AddMalformed(lineNo, "line longer than 1 MiB", line); continue; }

            Stats.EventLines++;
            int nameId = Stats.EventNames.Intern(h.Event);
            Stats.CountEvent(nameId);
            string eventName = Stats.EventNames[nameId];
            var kind = KindOf(nameId, eventName);
            if (Stats.FirstTimestampNs == 0 && Stats.EventLines == 1) Stats.FirstTimestampNs = h.TimestampNs;
            if (h.TimestampNs > Stats.LastTimestampNs) Stats.LastTimestampNs = h.TimestampNs;

            r.Reset();
            r.Line = lineNo;
            r.EventName = eventName;
            r.Task = _tasks[_tasks.Intern(h.Task)];
            r.Pid = h.Pid;
            r.Cpu = h.Cpu;
            r.Flags = h.Flags.IsEmpty ? "" : Strings[Strings.Intern(h.Flags)];
            r.TimestampNs = h.TimestampNs;
            if (kind == TraceEventKind.Unknown)
            {
                Stats.UnknownEventLines++;
                if (_options.ReturnUnknownEvents) return true;
                continue;
            }
            if (!_parser.TryParseFields(kind, h.Fields, r, out reason))
            {
                AddMalformed(lineNo, $"{eventName}: {reason}", line);
                continue;
            }
            r.Kind = kind;
            return true;
        }
    }

    /// <summary>Lines that fail to parse before any event line, after which the input is judged not to be ftrace.</summary>
    const int NotFtraceAfter = 50;

    TraceFormatException NotFtrace()
    {
        var first = Stats.Malformed[0];
        return new TraceFormatException(_source, first.Line, -1,
            "not ftrace text: expected lines like 'TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: FIELDS' " +
            "(the output of /sys/kernel/tracing/trace or `trace-cmd report`), found none");
    }

    TraceEventKind[] _kindById = new TraceEventKind[64];
    bool[] _kindKnown = new bool[64];

    /// <summary>Event kind by interned name id (the name is looked up once per distinct name).</summary>
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

    void AddMalformed(long lineNo, string reason, ReadOnlySpan<byte> line)
    {
        Stats.MalformedLines++;
        if (Stats.Malformed.Count < TraceReadStats.MaxListed)
            Stats.Malformed.Add(new MalformedLine(lineNo, reason, Encoding.UTF8.GetString(line[..Math.Min(line.Length, 200)])));
    }

    void ReadHeaderComment(ReadOnlySpan<byte> line)
    {
        if (Stats.EventLines > 0) return;
        int i = line.IndexOf("# tracer: "u8);
        if (i >= 0) { Stats.Tracer = Encoding.UTF8.GetString(line[(i + 10)..]).Trim(); return; }
        i = line.IndexOf("entries-in-buffer/entries-written: "u8);
        if (i >= 0)
        {
            var s = Encoding.ASCII.GetString(line[(i + 35)..]);
            int sp = s.IndexOf(' ');
            if (sp > 0) s = s[..sp];
            var parts = s.Split('/');
            if (parts.Length == 2 && long.TryParse(parts[0], out long a) && long.TryParse(parts[1], out long b)) Stats.Entries = (a, b);
        }
        i = line.IndexOf("#P:"u8);
        if (i >= 0)
        {
            int n = 0, j = i + 3;
            while (j < line.Length && line[j] >= (byte)'0' && line[j] <= (byte)'9' && n < 1_000_000) n = n * 10 + (line[j++] - '0');
            if (j > i + 3) Stats.Cpus = n;
        }
    }

    void ReportProgress() =>
        _options.Progress?.Invoke(new TraceProgress(_counted.BytesRead, _inputLength, Stats.TextBytes, Stats.Lines, Stats.EventLines));

    /// <summary>Reads to the end, handing each record to <paramref name="onRecord"/>.</summary>
    public void ReadAll(Action<TraceRecord> onRecord)
    {
        while (Read()) onRecord(_record);
    }

    public void Dispose()
    {
        _lines.Dispose();
        _counted.Dispose();
    }
}
