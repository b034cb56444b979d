using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace DmaLab.Trace;

/// <summary>
/// Parses an <see cref="FtraceReader"/>'s input ahead of the caller on worker threads: each worker takes the next
/// run of lines (<see cref="FtraceChunk"/>, in input order, under a lock) and parses it with a parsing context of its
/// own, into a bounded ring of <see cref="Slots"/> runs; the caller merges the runs in order and replays their
/// records. When the run it needs next is still being parsed and a slot is free, the caller parses a later run
/// itself, so on two CPUs the parsing is shared by both threads instead of holding the replay back.
/// <para>
/// The caller sees exactly the records, in exactly the order, that <see cref="FtraceReader.Read"/> gives, and the
/// same stats (ids by first appearance are assigned as runs are merged), so a replay is byte-identical with or
/// without it. An error of the input surfaces at the same record with the same message. Memory is bounded by the
/// ring. Use <see cref="Open(FtraceReader)"/>: it falls back to the plain reader on one CPU or when the reader's
/// options say so.
/// </para>
/// <para>
/// Measured on the 2-vCPU VM (docs/BENCHMARKS.md, third session): `dmalab replay`'s path over a 5M-event dma-direct
/// text at 188 ns per event, against 304–473 ns on one thread.
/// </para>
/// </summary>
internal sealed unsafe class FtraceReadAhead : ITraceRecordSource
{
    /// <summary>Most worker threads (parsing costs about twice the dma-direct replay per event; more workers than
    /// that only fill the ring sooner).</summary>
    public const int MaxWorkers = 3;

    readonly FtraceReader _reader;
    readonly FtraceChunk[] _ring;
    readonly bool[] _ready;
    readonly ExceptionDispatchInfo?[] _fault;
    readonly Thread[] _workers = [];
    // _fill orders the runs (one filler at a time, in input order); _gate guards the ring's state and is where both
    // sides sleep (Monitor.Wait) instead of spinning, which on a 2-CPU machine would take the CPU from the other side.
    readonly object _fill = new(), _gate = new();
    long _nextFill, _nextConsume;
    int _inUse;
    bool _fillDone;
    volatile bool _stop;

    FtraceChunk? _cur;
    int _index;
    bool _done;
    TraceRecord _current;

    bool _ownsReader;

    FtraceReadAhead(FtraceReader reader, int workers)
    {
        _reader = reader;
        _current = reader.Current;
        int slots = workers == 0 ? 0 : 4 * (workers + 1) + 4; // room for the workers to run ahead while the reader parses a run itself
        _ring = new FtraceChunk[slots];
        _ready = new bool[slots];
        _fault = new ExceptionDispatchInfo?[slots];
        for (int i = 0; i < slots; i++) _ring[i] = new FtraceChunk();
        if (workers == 0) return;
        _workers = new Thread[workers];
        for (int i = 0; i < workers; i++)
        {
            var parser = reader.NewParser();
            _workers[i] = new Thread(() => Work(parser)) { IsBackground = true, Name = $"dmalab trace parser {i}" };
        }
        foreach (var t in _workers) t.Start();
    }

    /// <summary>Slots of the ring of runs.</summary>
    public int Slots => _ring.Length;

    /// <summary>Reads <paramref name="reader"/> ahead on worker threads (one fewer than the CPUs, at most
    /// <see cref="MaxWorkers"/>) when the machine has more than one CPU and <see cref="FtraceReaderOptions.ReadAhead"/>
    /// is on; otherwise a plain pass-through.</summary>
    public static FtraceReadAhead Open(FtraceReader reader) =>
        new(reader, reader.Options.ReadAhead ? Math.Clamp(Environment.ProcessorCount - 1, 0, MaxWorkers) : 0);

    /// <summary><see cref="Open(FtraceReader)"/>, disposing the reader with the read-ahead (<see cref="TraceSource.Open"/>).</summary>
    internal static FtraceReadAhead OpenOwned(FtraceReader reader)
    {
        var a = Open(reader);
        a._ownsReader = true;
        return a;
    }

    public string SourceName => _reader.SourceName;
    public TraceReadStats Stats => _reader.Stats;
    public NameTable Devices => _reader.Devices;

    /// <summary>With or without worker threads whatever the machine (tests).</summary>
    internal static FtraceReadAhead Open(FtraceReader reader, bool threaded, int workers = 1) => new(reader, threaded ? workers : 0);

    /// <summary>True when worker threads parse ahead.</summary>
    public bool Threaded => _workers.Length > 0;

    /// <summary>The current record; valid until the next <see cref="Read"/>.</summary>
    public TraceRecord Current => _current;

    /// <summary>Hands the current record over to the caller for good (a replayer that keeps records in its
    /// lookahead window) and takes <paramref name="spare"/>, a record the caller no longer needs, in its place to be
    /// refilled: the record changes hands instead of being copied.</summary>
    public void Exchange(TraceRecord spare)
    {
        if (!Threaded) _reader.Exchange(spare);
        _current = spare;
    }

    public bool Read()
    {
        if (!Threaded)
        {
            if (!_reader.Read()) return false;
            _current = _reader.Current;
            return true;
        }
        if (_cur is not null && _index < _cur.Count)
        {
            if (_index + PrefetchAhead < _cur.Count) Prefetch(ref _cur.Packed[_index + PrefetchAhead]);
            _current = _reader.Take(_cur, _index++, _current);
            return true;
        }
        return NextRun();
    }

    /// <summary>Packed events ahead of the one being taken whose memory is requested from the parsing thread's core:
    /// memory written on another core costs a cross-core transfer per cache line when first read (measured about
    /// 220 ns one way on the 2-vCPU VM), which the replay of the events in between hides.</summary>
    const int PrefetchAhead = 4;

    static unsafe void Prefetch(ref PackedRecord p)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        // A hint only, never dereferenced by us: a move of the array by the GC cannot hurt.
        byte* a = (byte*)Unsafe.AsPointer(ref p);
        System.Runtime.Intrinsics.X86.Sse.Prefetch0(a);
        System.Runtime.Intrinsics.X86.Sse.Prefetch0(a + 64);
    }

    bool NextRun()
    {
        while (true)
        {
            if (_cur is not null)
            {
                _cur = null;
                lock (_gate)
                {
                    _inUse--;
                    Monitor.PulseAll(_gate);
                }
            }
            if (_done) return false;
            int slot = (int)(_nextConsume % _ring.Length);
            WaitReady(slot);
            var c = _ring[slot];
            _ready[slot] = false;
            _nextConsume++;
            if (c.Last) _done = true;
            if (_fault[slot] is { } fault) { _fault[slot] = null; _done = true; fault.Throw(); }
            bool more;
            try { more = _reader.Merge(c); }
            catch { _done = true; throw; } // bad input: nothing is read after the error
            _cur = c; // the slot is released when the next run is needed
            _index = 0;
            if (!more) return false;
            if (c.Count > 0)
            {
                for (int i = 0; i < PrefetchAhead && i < c.Count; i++) Prefetch(ref c.Packed[i]);
                _current = _reader.Take(c, _index++, _current);
                return true;
            }
        }
    }

    /// <summary>Waits until run <paramref name="slot"/> is parsed, parsing a later run meanwhile when one can be
    /// taken.</summary>
    void WaitReady(int slot)
    {
        while (true)
        {
            bool help;
            lock (_gate)
            {
                if (_ready[slot]) return;
                help = !_fillDone && _inUse < _ring.Length;
                if (!help) Monitor.Wait(_gate);
            }
            if (help && !RunOne(_reader.Parser, waitForTurn: false))
                lock (_gate)
                    if (!_ready[slot]) Monitor.Wait(_gate, 1);
        }
    }

    void Work(FtraceChunkParser parser)
    {
        while (RunOne(parser, waitForTurn: true)) { }
    }

    /// <summary>Fills the next run in input order and parses it. False when there is nothing more to take (or,
    /// without <paramref name="waitForTurn"/>, when another thread is filling or the ring is full).</summary>
    bool RunOne(FtraceChunkParser parser, bool waitForTurn)
    {
        FtraceChunk c;
        int slot;
        ReadOnlySpan<byte> text;
        if (waitForTurn) Monitor.Enter(_fill);
        else if (!Monitor.TryEnter(_fill)) return false;
        try
        {
            lock (_gate)
            {
                while (_inUse == _ring.Length && !_stop && waitForTurn) Monitor.Wait(_gate);
                if (_stop || _fillDone || _inUse == _ring.Length) return false;
                _inUse++;
            }
            slot = (int)(_nextFill++ % _ring.Length);
            c = _ring[slot];
            text = _reader.Fill(c, copy: true);
            if (c.Last) _fillDone = true;
        }
        finally { Monitor.Exit(_fill); }
        lock (_gate) Monitor.PulseAll(_gate); // the filler's turn is free: a waiting caller may parse the next run
        if (!c.Last)
        {
            try { parser.Parse(text, c); }
            catch (Exception ex) { _fault[slot] = ExceptionDispatchInfo.Capture(ex); }
        }
        lock (_gate)
        {
            _ready[slot] = true;
            Monitor.PulseAll(_gate);
        }
        return !c.Last;
    }

    /// <summary>Stops the workers (waiting for a read in progress: on a pipe that has nothing more to give, until it
    /// does or closes) before the reader is disposed.</summary>
    public void Dispose()
    {
        if (Threaded && !_stop)
        {
            lock (_gate)
            {
                _stop = true;
                Monitor.PulseAll(_gate);
            }
            foreach (var t in _workers) t.Join();
        }
        if (_ownsReader) { _ownsReader = false; _reader.Dispose(); }
    }
}
