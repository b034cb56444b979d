using System.IO.Compression;
using System.Text;
using SharpCompress.Compressors.Xz;

namespace DmaLab.Trace;

/// <summary>
/// Streams kernel ftrace text (tracefs trace / trace_pipe, or `trace-cmd report`) from any stream — plain, .xz or
/// .gz (detected by magic number, so stdin works too) — in constant memory: the text is taken in runs of whole lines
/// (<see cref="FtraceChunk"/>, about <see cref="BlockBytes"/> each, buffers reused run after run), parsed into packed
/// events (<see cref="PackedRecord"/>) and unpacked one at a time into <see cref="Current"/>; names are interned. Comment/header lines are skipped (the tracer and entry counts are kept), unknown events are counted by
/// name, lost-events lines and malformed lines are recorded in <see cref="Stats"/>. Input that is not ftrace text at
/// all throws <see cref="TraceFormatException"/>. Runs can be parsed on other threads (<see cref="FtraceReadAhead"/>)
/// and are merged here in input order, so the records and stats are the same either way.
/// </summary>
public sealed class FtraceReader : ITraceRecordSource
{
    static readonly byte[] XzMagic = [0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00];
    static readonly byte[] TraceCmdMagic = [0x17, 0x08, 0x44, (byte)'t', (byte)'r', (byte)'a', (byte)'c', (byte)'i', (byte)'n', (byte)'g'];

    /// <summary>Text per run of lines: small enough that a run's records stay in the cache between parsing and
    /// replaying them.</summary>
    internal const int BlockBytes = 64 * 1024;

    readonly string _source;
    readonly FtraceReaderOptions _options;
    readonly CountingStream _counted;
    readonly long _inputLength;
    readonly TraceLineSource _lines;
    readonly NameTable _tasks = new();
    // Devices by parse order (shared by the parsing threads) → by order of use (Devices).
    readonly NameTable _parsedDevices = new();
    int[] _deviceOrder = [];
    readonly FtraceChunkParser _parser;
    readonly FtraceChunk _chunk = new();
    int _index;
    bool _ended;
    TraceRecord _current = new();
    long _nextProgress;

    /// <summary>Devices seen so far (dev_name), in order of first appearance; <see cref="TraceRecord.DeviceId"/> indexes it.</summary>
    public NameTable Devices { get; } = new();
    /// <summary>Other interned strings (flags, gfp flags, drivers).</summary>
    internal NameTable Strings { get; } = new();
    public TraceReadStats Stats { get; } = new();
    public string SourceName => _source;
    /// <summary>The current record, valid after <see cref="Read"/> returned true and until the next call.</summary>
    public TraceRecord Current => _current;

    /// <param name="stream">the raw input (file, stdin, .xz or .gz); the reader owns and disposes it</param>
    /// <param name="sourceName">file name for messages</param>
    public FtraceReader(Stream stream, string sourceName, FtraceReaderOptions? options = null)
    {
        _source = sourceName;
        _options = options ?? new FtraceReaderOptions();
        _inputLength = stream.CanSeek ? SafeLength(stream) : -1;
        _counted = new CountingStream(stream);
        _parser = NewParser();
        Stream text = new TextTailStream(OpenDecompressed(_counted), Stats);
        _lines = new TraceLineSource(text);
        _nextProgress = _options.ProgressEveryLines;
        CheckLooksLikeText();
    }

    /// <summary>Over content <see cref="TraceInput.Open"/> has already decoded from <paramref name="counted"/>
    /// (<see cref="TraceSource.Open"/>).</summary>
    internal FtraceReader(CountingStream counted, long inputLength, Stream text, string compression, string sourceName, FtraceReaderOptions? options)
    {
        _source = sourceName;
        _options = options ?? new FtraceReaderOptions();
        _inputLength = inputLength;
        _counted = counted;
        _parser = NewParser();
        Stats.Compression = compression;
        _lines = new TraceLineSource(new TextTailStream(text, Stats));
        _nextProgress = _options.ProgressEveryLines;
        CheckLooksLikeText();
    }

    internal static long LengthOf(Stream s) => s.CanSeek ? SafeLength(s) : -1;

    /// <summary>A parsing context of its own for one more thread.</summary>
    internal FtraceChunkParser NewParser() => new(_options, _parsedDevices, Strings, _tasks, Stats.EventNames);

    /// <summary>The parsing context of the thread that reads records.</summary>
    internal FtraceChunkParser Parser => _parser;

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
                "this is a binary trace-cmd .dat file, not ftrace text; open it with TraceSource.Open (`dmalab replay FILE.dat` reads it)");
        int control = 0;
        foreach (byte b in peek)
            if (b == 0 || (b < 0x09) || (b > 0x0D && b < 0x20 && b != 0x1B)) control++;
        if (control > 0 && control * 100 > peek.Length)
            throw new TraceFormatException(_source, 0, 0,
                "binary data, expected ftrace text (the output of /sys/kernel/tracing/trace or `trace-cmd report`)");
    }

    Exception Wrap(Exception ex) => Wrap(ex, _lines.Offset);

    Exception Wrap(Exception ex, long offset)
    {
        string what = Stats.Compression switch
        {
            "xz" => "corrupt or truncated .xz data, expected a valid xz stream",
            "gzip" => "corrupt or truncated .gz data, expected a valid gzip stream",
            _ => "cannot read input",
        };
        return new TraceFormatException(_source, Stats.Lines + 1, offset, $"{what} ({FirstLine(ex.Message)})", ex);
    }

    static string FirstLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }

    /// <summary>Advances to the next modelled event (and, with <see cref="FtraceReaderOptions.ReturnUnknownEvents"/>,
    /// unknown ones). False at the end of the input.</summary>
    public bool Read()
    {
        while (true)
        {
            if (_index < _chunk.Count)
            {
                _current = Take(_chunk, _index++, _current);
                return true;
            }
            if (_ended) return false;
            _index = 0;
            var text = Fill(_chunk, copy: false);
            if (!_chunk.Last) _parser.Parse(text, _chunk);
            bool more;
            try { more = Merge(_chunk); }
            catch { _ended = true; _chunk.Count = 0; throw; } // bad input: nothing is read after the error
            if (!more) return false;
        }
    }

    internal FtraceReaderOptions Options => _options;

    /// <summary>Hands the current record to the caller for good: the next one is read into <paramref name="spare"/>
    /// (see <see cref="FtraceReadAhead.Exchange"/>).</summary>
    public void Exchange(TraceRecord spare) => _current = spare;

    /// <summary>
    /// Takes the next run of lines into <paramref name="c"/> (cleared): its text, copied into the chunk when
    /// <paramref name="copy"/> (the span returned otherwise is the line source's, valid until the next fill), or
    /// <see cref="FtraceChunk.Last"/> at the end of the input or when reading failed (<see cref="FtraceChunk.Error"/>).
    /// Callers take runs one at a time, in order.
    /// </summary>
    internal ReadOnlySpan<byte> Fill(FtraceChunk c, bool copy)
    {
        c.Clear();
        try
        {
            if (!_lines.TryReadBlock(BlockBytes, out var block, out bool single))
            {
                c.Last = true;
                c.EndOffset = _lines.Offset;
                return default;
            }
            c.SingleLine = single;
            c.Cut = single && _lines.LastLineCut;
            c.EndOffset = _lines.Offset;
            if (!copy) return block;
            c.SetText(block);
            return c.Text.AsSpan(0, c.TextLength);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            c.Last = true;
            c.Error = ex;
            c.ErrorOffset = _lines.Offset;
            return default;
        }
    }

    /// <summary>
    /// Adds a parsed run's counts to <see cref="Stats"/> (runs must come in input order; the records of the run
    /// are then taken with <see cref="Take"/>). At the end of the input (a <see cref="FtraceChunk.Last"/> run) it
    /// returns false, after throwing what the input deserves: the read error, or "not ftrace text" when no line
    /// was an event line.
    /// </summary>
    internal bool Merge(FtraceChunk c)
    {
        if (c.Last) _ended = true;
        var s = Stats;
        long baseLine = s.Lines;
        bool noEventsYet = s.EventLines == 0;

        long malformedBefore = s.MalformedLines;
        s.MalformedLines += c.MalformedLines;
        foreach (var m in c.Malformed)
        {
            if (s.Malformed.Count >= TraceReadStats.MaxListed) break;
            s.Malformed.Add(m with { Line = m.Line + baseLine });
        }
        if (noEventsYet && c.MalformedAtLastCheck > 0 && malformedBefore + c.MalformedAtLastCheck >= NotFtraceAfter) throw NotFtrace();

        s.Lines += c.Lines;
        s.CommentLines += c.CommentLines;
        s.BlankLines += c.BlankLines;
        s.LostEventCount = FtraceChunkParser.SaturatingAdd(s.LostEventCount, c.LostEventCount);
        foreach (var l in c.Lost)
        {
            if (s.Lost.Count >= TraceReadStats.MaxListed) break;
            s.Lost.Add(l with { Line = l.Line + baseLine });
        }
        if (noEventsYet)
        {
            if (c.Tracer is not null) s.Tracer = c.Tracer;
            if (c.Entries is { } e) s.Entries = e;
            if (c.Cpus is { } n) s.Cpus = n;
            if (c.EventLines > 0) s.FirstTimestampNs = c.FirstTimestampNs;
        }
        s.EventLines += c.EventLines;
        s.UnknownEventLines += c.UnknownEventLines;
        s.TimerLines += c.TimerLines;
        s.StackLines += c.StackLines;
        s.OrphanStacks += c.OrphanStacks;
        if (c.LastTimestampNs > s.LastTimestampNs) s.LastTimestampNs = c.LastTimestampNs;
        for (int id = 0; id < c.EventIdsUsed; id++)
            if (c.EventCounts[id] != 0) s.CountEvents(id, c.EventCounts[id]);
        s.TextBytes = c.EndOffset;
        c.BaseLine = baseLine;

        if (c.Error is { } error)
            throw error as TraceFormatException ?? Wrap(error, c.ErrorOffset);
        if (c.Last)
        {
            if (s.EventLines == 0 && s.MalformedLines > 0) throw NotFtrace();
            ReportProgress();
            return false;
        }
        if (s.Lines >= _nextProgress)
        {
            while (_nextProgress <= s.Lines) _nextProgress += _options.ProgressEveryLines;
            ReportProgress();
        }
        return true;
    }

    /// <summary>
    /// Event <paramref name="i"/> of a merged run as a record numbered in the whole input: unpacked into
    /// <paramref name="target"/> (a record of the reading thread's), or, for an event that kept its whole record,
    /// that record, <paramref name="target"/> taking its place in the run.
    /// </summary>
    internal TraceRecord Take(FtraceChunk c, int i, TraceRecord target)
    {
        ref var p = ref c.Packed[i];
        TraceRecord r;
        if (p.Full >= 0)
        {
            r = c.Records[p.Full];
            c.Records[p.Full] = target;
        }
        else
        {
            r = target;
            r.Reset();
            r.Kind = p.Kind;
            r.EventName = _parser.EventName(p.EventId);
            r.Task = _parser.TaskName(p.TaskId);
            r.Pid = p.Pid;
            r.Cpu = p.Cpu;
            r.Flags = _parser.FlagsName(p.FlagsId);
            r.TimestampNs = p.TimestampNs;
            r.DeviceId = p.DeviceId;
            r.Device = p.DeviceId < 0 ? "" : _parser.DeviceName(p.DeviceId);
            r.Dir = p.Dir;
            r.Attrs = p.Attrs;
            r.DmaAddr = p.DmaAddr;
            r.PhysAddr = p.PhysAddr;
            r.Size = p.Size;
            r.FullNents = p.FullNents;
            r.FullEnts = p.FullEnts;
            r.Truncated = p.Truncated;
            if (p.Stack >= 0) r.Stack = c.Stacks[p.Stack];
            if (p.PhysCount + p.DmaCount + p.LenCount > 0)
            {
                var pool = c.ListPool.AsSpan(p.ListStart);
                TraceRecord.SetList(ref r.PhysBuf, ref r.PhysCount, pool[..p.PhysCount]);
                TraceRecord.SetList(ref r.DmaBuf, ref r.DmaCount, pool.Slice(p.PhysCount, p.DmaCount));
                TraceRecord.SetList(ref r.LenBuf, ref r.LenCount, pool.Slice(p.PhysCount + p.DmaCount, p.LenCount));
            }
        }
        r.Line = c.BaseLine + p.Line;
        if (r.DeviceId >= 0) r.DeviceId = DeviceOrder(r.DeviceId, r.Device);
        return r;
    }

    int DeviceOrder(int parsedId, string name)
    {
        if (parsedId < _deviceOrder.Length && _deviceOrder[parsedId] > 0) return _deviceOrder[parsedId] - 1;
        if (parsedId >= _deviceOrder.Length) Array.Resize(ref _deviceOrder, Math.Max(parsedId + 1, _deviceOrder.Length * 2 + 8));
        int id = Devices.Intern(name);
        _deviceOrder[parsedId] = id + 1;
        return id;
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

    void ReportProgress() =>
        _options.Progress?.Invoke(new TraceProgress(_counted.BytesRead, _inputLength, Stats.TextBytes, Stats.Lines, Stats.EventLines));

    /// <summary>Reads to the end, handing each record to <paramref name="onRecord"/>.</summary>
    public void ReadAll(Action<TraceRecord> onRecord)
    {
        while (Read()) onRecord(_current);
    }

    public void Dispose()
    {
        _lines.Dispose();
        _counted.Dispose();
    }
}
