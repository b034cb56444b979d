using System.Runtime.ExceptionServices;

namespace DmaLab.Trace;

/// <summary>
/// A two-stage pipeline over an <see cref="FtraceReader"/>: a background thread reads, splits and parses lines into a
/// fixed ring of preallocated <see cref="TraceRecord"/> batches while the caller replays the batches already filled.
/// The caller sees exactly the records, in exactly the order, that <see cref="FtraceReader.Read"/> would give (so a
/// replay is byte-identical with or without it); memory is bounded by the ring (<see cref="Batches"/> ×
/// <see cref="BatchSize"/> records). An exception of the reader (bad input) is rethrown to the caller at the point
/// of the stream where the synchronous reader would have thrown it, after the records before it.
/// Use <see cref="Open(FtraceReader)"/>: it falls back to the plain reader on one CPU or when the reader's options say so.
/// <para>
/// Measured on the shared 2-CPU VM (other jobs running), 5 M synthetic dma-direct events: parsing costs about
/// 190 ns per event. With the bookkeeping replay alone (about 70 ns) the pipeline was slower than one thread (about
/// 320 vs 275 ns per event, twice the CPU time): each record is written on one core and read on the other, and that
/// traffic costs more than the small replay stage saves, so <see cref="FtraceReaderOptions.ReadAhead"/> is off by
/// default. With the MachineReplayModel behind it (ReplayRunner, what `dmalab replay` runs) the replay stage is
/// heavier and the pipeline wins (about 325 vs 365 ns per event), so <see cref="ReplayRunOptions.ReadAhead"/> is on.
/// </para>
/// </summary>
internal sealed class FtraceReadAhead : IDisposable
{
    public const int BatchSize = 1024, Batches = 4;

    readonly FtraceReader _reader;
    readonly TraceRecord[][] _ring = new TraceRecord[Batches][];
    readonly int[] _count = new int[Batches];
    readonly bool[] _last = new bool[Batches];
    readonly ExceptionDispatchInfo?[] _error = new ExceptionDispatchInfo?[Batches];
    // Hand-off by lock and Monitor.Wait: a waiting side sleeps instead of spinning (SemaphoreSlim spins first, which
    // on a 2-CPU machine takes the CPU from the other stage). One wake-up per batch.
    readonly object _gate = new();
    int _filledBatches, _freeBatches = Batches;
    readonly Thread? _thread;
    volatile bool _stop;
    int _batch = -1, _index, _n;
    bool _done;
    TraceRecord _current;

    FtraceReadAhead(FtraceReader reader, bool threaded)
    {
        _reader = reader;
        _current = reader.Current;
        if (!threaded) return;
        for (int b = 0; b < Batches; b++)
        {
            _ring[b] = new TraceRecord[BatchSize];
            for (int i = 0; i < BatchSize; i++) _ring[b][i] = new TraceRecord(listCapacity: 8);
        }
        _thread = new Thread(Produce) { IsBackground = true, Name = "dmalab trace read-ahead" };
        _thread.Start();
    }

    /// <summary>Reads <paramref name="reader"/> ahead on a second thread when the machine has more than one CPU and
    /// <see cref="FtraceReaderOptions.ReadAhead"/> is on; otherwise a plain pass-through.</summary>
    public static FtraceReadAhead Open(FtraceReader reader) =>
        new(reader, reader.Options.ReadAhead && Environment.ProcessorCount > 1);

    /// <summary>With or without the second thread whatever the machine (tests).</summary>
    internal static FtraceReadAhead Open(FtraceReader reader, bool threaded) => new(reader, threaded);

    /// <summary>True when a second thread parses ahead.</summary>
    public bool Threaded => _thread is not null;

    /// <summary>The current record; valid until the next <see cref="Read"/>.</summary>
    public TraceRecord Current => _current;

    public bool Read()
    {
        if (_thread is null) return _reader.Read();
        if (_index < _n)
        {
            _current = _ring[_batch][_index++];
            return true;
        }
        return NextBatch();
    }

    bool NextBatch()
    {
        while (true)
        {
            if (_done) return false;
            if (_batch >= 0)
            {
                bool last = _last[_batch];
                var error = _error[_batch];
                _error[_batch] = null;
                lock (_gate)
                {
                    if (_freeBatches++ == 0) Monitor.Pulse(_gate);
                }
                if (error is not null) { _done = true; error.Throw(); }
                if (last) { _done = true; return false; }
            }
            lock (_gate)
            {
                while (_filledBatches == 0) Monitor.Wait(_gate);
                _filledBatches--;
            }
            _batch = (_batch + 1) % Batches;
            _index = 0;
            _n = _count[_batch];
            if (_n > 0)
            {
                _current = _ring[_batch][_index++];
                return true;
            }
        }
    }

    void Produce()
    {
        for (int b = 0; ; b = (b + 1) % Batches)
        {
            lock (_gate)
            {
                while (_freeBatches == 0 && !_stop) Monitor.Wait(_gate);
                if (_stop) return;
                _freeBatches--;
            }
            var batch = _ring[b];
            int n = 0;
            bool last = false;
            try
            {
                while (n < BatchSize && !_stop)
                {
                    if (!_reader.ReadInto(batch[n])) { last = true; break; }
                    n++;
                }
            }
            catch (Exception ex)
            {
                _error[b] = ExceptionDispatchInfo.Capture(ex);
                last = true;
            }
            _count[b] = n;
            _last[b] = last;
            lock (_gate) // publishes the batch (and the reader's stats so far) to the consumer
            {
                if (_filledBatches++ == 0) Monitor.Pulse(_gate);
            }
            if (last) return;
        }
    }

    /// <summary>Stops the read-ahead thread (waiting for the line it is reading: on a pipe that has nothing more to
    /// give, until it does or closes) before the reader is disposed.</summary>
    public void Dispose()
    {
        if (_thread is null || _stop) return;
        lock (_gate)
        {
            _stop = true;
            Monitor.PulseAll(_gate); // wake the producer if it waits for a free batch
        }
        _thread.Join();
    }
}
