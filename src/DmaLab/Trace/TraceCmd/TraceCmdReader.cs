namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// Reads a trace-cmd .dat file (`trace-cmd record` / `extract`; file versions 6 and 7, zstd- or zlib-compressed or
/// not) into the records the ftrace text reader gives for the same ring buffer, so a replay works unchanged. Each
/// CPU's pages are read in turn (<see cref="TraceCmdCpu"/>: a few pages or a compressed chunk per CPU in memory) and the
/// CPUs merged by timestamp, the lower CPU first on equal times, as the kernel's trace iterator does (Linux:
/// kernel/trace/trace.c, __find_next_entry()); records are decoded by the event formats in the file
/// (<see cref="TraceCmdEventDecoder"/>). Pages that say events were lost before them are counted in
/// <see cref="TraceReadStats.Lost"/> as tracefs's "CPU:N [LOST M EVENTS]" lines are. <see cref="TraceRecord.Line"/> is
/// the record's ordinal. Needs a seekable stream (<see cref="TraceSource.Open"/> spools other input to a
/// temporary file); a cut or corrupt file throws a one-line <see cref="TraceFormatException"/> with the byte offset.
/// </summary>
public sealed class TraceCmdReader : ITraceRecordSource
{
    readonly Stream _stream;
    readonly string _source;
    readonly FtraceReaderOptions _options;
    readonly TraceCmdFile _file;
    readonly TraceCmdCpu[] _cpus;
    readonly TraceCmdEventDecoder _decoder;
    // A binary min-heap of CPUs with an event pending, by (timestamp, cpu).
    readonly int[] _heap;
    int _heapCount;
    long _ordinal;
    long _nextProgress;
    bool _ended;
    TraceRecord _current = new();

    /// <param name="seekable">the .dat file (decompressed); the reader owns and disposes it</param>
    /// <param name="sourceName">file name for messages</param>
    /// <param name="compression">a compression the input came wrapped in ("xz", "gzip"), for the stats</param>
    public TraceCmdReader(Stream seekable, string sourceName, FtraceReaderOptions? options = null, string compression = "none")
    {
        ArgumentNullException.ThrowIfNull(seekable);
        if (!seekable.CanSeek) throw new ArgumentException("a trace-cmd .dat needs a seekable stream", nameof(seekable));
        _stream = seekable;
        _source = sourceName;
        _options = options ?? new FtraceReaderOptions();
        try
        {
            _file = TraceCmdFile.Read(seekable, sourceName);
            Stats.Format = $"trace-cmd .dat v{_file.Version}";
            Stats.Compression = (compression, _file.Compression) switch
            {
                (_, "none") => compression,
                ("none", var c) => c,
                var (outer, inner) => $"{outer}+{inner}",
            };
            Stats.Cpus = _file.CpuCount;
            Stats.Tracer = "nop";
            Stats.Notes.AddRange(_file.Notes);
            _decoder = new TraceCmdEventDecoder(_file, Stats, Devices, Strings);
            _cpus = _file.Cpus.OrderBy(c => c.Cpu).Select(c => new TraceCmdCpu(_file, seekable, sourceName, c)).ToArray();
            _heap = new int[_cpus.Length];
            for (int i = 0; i < _cpus.Length; i++)
                if (_cpus[i].Advance()) Push(i);
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException)
        {
            seekable.Dispose();
            throw new TraceFormatException(sourceName, 0, -1, $"cannot read the .dat file ({ex.Message})", ex);
        }
        catch
        {
            seekable.Dispose();
            throw;
        }
        _nextProgress = _options.ProgressEveryLines;
    }

    public string SourceName => _source;
    public TraceReadStats Stats { get; } = new();
    public NameTable Devices { get; } = new();
    internal NameTable Strings { get; } = new();
    public TraceRecord Current => _current;
    internal TraceCmdFile File => _file;
    /// <summary>The file's version (6 or 7).</summary>
    public int FileVersion => _file.Version;
    /// <summary>Things in the file that were not read (other trace instances).</summary>
    public IReadOnlyList<string> Notes => _file.Notes;

    public void Exchange(TraceRecord spare) => _current = spare;

    public bool Read()
    {
        while (!_ended)
        {
            if (_heapCount == 0)
            {
                _ended = true;
                ReportProgress();
                return false;
            }
            int ci = _heap[0];
            var cpu = _cpus[ci];
            long ordinal = ++_ordinal;
            Stats.Lines = ordinal;
            if (cpu.LostPending)
            {
                cpu.LostPending = false;
                Stats.LostEventCount += Math.Max(0, cpu.LostBefore);
                if (Stats.Lost.Count < TraceReadStats.MaxListed) Stats.Lost.Add(new LostEvents(ordinal, cpu.Cpu, cpu.LostBefore));
            }
            ulong ts = Time(cpu.Timestamp);
            var kind = _decoder.Decode(cpu.Buffer, cpu.DataStart, cpu.DataLength, cpu.Cpu, ts, ordinal, _current);
            if (Stats.EventLines == 1 && kind is not null) Stats.FirstTimestampNs = ts;
            if (ts > Stats.LastTimestampNs) Stats.LastTimestampNs = ts;
            bool more;
            try { more = cpu.Advance(); }
            catch { _ended = true; throw; } // bad input: nothing is read after the error
            Stats.TextBytes = PageBytes();
            if (more) SiftDown(0);
            else
            {
                _heap[0] = _heap[--_heapCount];
                if (_heapCount > 0) SiftDown(0);
            }
            if (Stats.Lines >= _nextProgress)
            {
                _nextProgress += _options.ProgressEveryLines;
                ReportProgress();
            }
            if (kind is null) continue;
            if (kind == TraceEventKind.Unknown && !_options.ReturnUnknownEvents) continue;
            return true;
        }
        return false;
    }

    long PageBytes()
    {
        long n = 0;
        foreach (var c in _cpus) n += c.PageBytes;
        return n;
    }

    ulong Time(ulong raw)
    {
        ulong t = raw;
        if (_file.Tsc2Nsec is { } c) t = (ulong)(((UInt128)raw * c.Mult) >> (int)c.Shift) + c.Offset;
        return (ulong)((long)t + _file.TimestampOffset);
    }

    bool Less(int a, int b)
    {
        var x = _cpus[a];
        var y = _cpus[b];
        return x.Timestamp < y.Timestamp || x.Timestamp == y.Timestamp && x.Cpu < y.Cpu;
    }

    void Push(int cpu)
    {
        int i = _heapCount++;
        _heap[i] = cpu;
        while (i > 0)
        {
            int p = (i - 1) / 2;
            if (!Less(_heap[i], _heap[p])) break;
            (_heap[i], _heap[p]) = (_heap[p], _heap[i]);
            i = p;
        }
    }

    void SiftDown(int i)
    {
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, m = i;
            if (l < _heapCount && Less(_heap[l], _heap[m])) m = l;
            if (r < _heapCount && Less(_heap[r], _heap[m])) m = r;
            if (m == i) return;
            (_heap[i], _heap[m]) = (_heap[m], _heap[i]);
            i = m;
        }
    }

    void ReportProgress()
    {
        long len = -1;
        try { len = _stream.Length; } catch (NotSupportedException) { }
        _options.Progress?.Invoke(new TraceProgress(PageBytes(), len, Stats.TextBytes, Stats.Lines, Stats.EventLines));
    }

    public void Dispose()
    {
        _file?.Decoder?.Dispose();
        _stream.Dispose();
    }
}
