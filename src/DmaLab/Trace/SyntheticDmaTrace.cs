using System.Text;
using DmaLab.Sim;
using DmaLab.Dma;

namespace DmaLab.Trace;

/// <summary>
/// A seeded, endless-on-demand stream of dma-direct traffic (dma_addr = phys_addr) for benchmarks and bounded-memory
/// tests: several devices map and unmap single buffers (512 B–64 KiB) and short sg lists, keeping at most
/// <c>maxLive</c> mappings each, with a marker every 100,000 events. Generation is allocation-free; live state is
/// bounded, so any length can be streamed without being materialised.
/// </summary>
public sealed class SyntheticDmaTrace
{
    const int MaxSg = 8;
    readonly Rng _rng;
    readonly long _events;
    readonly int _devices, _maxLive;
    readonly string[] _deviceNames;
    readonly string[] _tasks;
    readonly int[] _liveCount;
    readonly ulong[] _livePhys;     // [device][slot][MaxSg]
    readonly ulong[] _liveSize;     // [device][slot]
    readonly int[] _liveNents;      // [device][slot], 0 = single mapping
    readonly DmaDirection[] _liveDir;
    readonly ulong[] _scratch = new ulong[MaxSg];
    readonly ulong[] _scratchLen = new ulong[MaxSg];
    long _produced;
    ulong _ns = 100_000_000_000UL;

    public SyntheticDmaTrace(ulong seed, long events, int devices = 2, int maxLive = 1024)
    {
        _rng = new Rng(seed);
        _events = events;
        _devices = Math.Max(1, devices);
        _maxLive = Math.Max(1, maxLive);
        _deviceNames = Enumerable.Range(0, _devices).Select(d => $"0000:{d + 1:x2}:00.0").ToArray();
        _tasks = Enumerable.Range(0, _devices).Select(d => $"worker{d}").ToArray();
        _liveCount = new int[_devices];
        _livePhys = new ulong[_devices * _maxLive * MaxSg];
        _liveSize = new ulong[_devices * _maxLive];
        _liveNents = new int[_devices * _maxLive];
        _liveDir = new DmaDirection[_devices * _maxLive];
    }

    public long Produced => _produced;
    /// <summary>Mappings still live (what a replay must report at the end).</summary>
    public long Live { get { long n = 0; foreach (int c in _liveCount) n += c; return n; } }
    public long Maps { get; private set; }
    public long Unmaps { get; private set; }

    /// <summary>Fills <paramref name="r"/> with the next event; false after the requested count.</summary>
    public bool Next(TraceRecord r)
    {
        if (_produced >= _events) return false;
        _produced++;
        _ns += 1000 + _rng.Next(2000) / 1000 * 1000; // whole microseconds, as tracefs prints them
        r.Reset();
        r.Line = _produced;
        r.TimestampNs = _ns;
        if (_produced % 100_000 == 1)
        {
            r.Kind = TraceEventKind.TracingMarkWrite;
            r.EventName = "tracing_mark_write";
            r.Task = "bench"; r.Pid = 1; r.Cpu = 0;
            r.Message = "PHASE synthetic";
            return true;
        }
        int d = (int)_rng.Next((ulong)_devices);
        r.Device = _deviceNames[d];
        r.Task = _tasks[d];
        r.Pid = 1000 + d;
        r.Cpu = d % 16;
        int live = _liveCount[d];
        bool map = live == 0 || (live < _maxLive && _rng.Chance(0.5));
        if (map) MakeMap(r, d); else MakeUnmap(r, d);
        return true;
    }

    void MakeMap(TraceRecord r, int d)
    {
        int slot = _liveCount[d]++;
        int li = d * _maxLive + slot;
        var dir = (DmaDirection)_rng.Next(3);
        _liveDir[li] = dir;
        r.Dir = dir;
        Maps++;
        if (_rng.Chance(0.1))
        {
            int n = 1 + (int)_rng.Next(MaxSg);
            for (int i = 0; i < n; i++)
            {
                ulong p = RandomPage();
                _livePhys[li * MaxSg + i] = p;
                _scratch[i] = p;
                _scratchLen[i] = 4096;
            }
            _liveNents[li] = n;
            _liveSize[li] = (ulong)n * 4096;
            r.Kind = TraceEventKind.DmaMapSg;
            r.EventName = "dma_map_sg";
            r.SetPhysAddrs(_scratch.AsSpan(0, n));
            r.SetDmaAddrs(_scratch.AsSpan(0, n));
            r.SetLengths(_scratchLen.AsSpan(0, n));
            r.FullNents = n; r.FullEnts = n;
            return;
        }
        ulong phys = RandomPage() + (_rng.Chance(0.25) ? _rng.Next(64) * 64 : 0);
        ulong size = 1UL << _rng.Next(9, 17);
        _livePhys[li * MaxSg] = phys;
        _liveSize[li] = size;
        _liveNents[li] = 0;
        r.Kind = TraceEventKind.DmaMapPhys;
        r.EventName = "dma_map_phys";
        r.DmaAddr = phys; r.PhysAddr = phys; r.Size = size;
    }

    void MakeUnmap(TraceRecord r, int d)
    {
        int slot = (int)_rng.Next((ulong)_liveCount[d]);
        int li = d * _maxLive + slot;
        int last = d * _maxLive + --_liveCount[d];
        Unmaps++;
        r.Dir = _liveDir[li];
        int n = _liveNents[li];
        if (n > 0)
        {
            r.Kind = TraceEventKind.DmaUnmapSg;
            r.EventName = "dma_unmap_sg";
            r.SetPhysAddrs(_livePhys.AsSpan(li * MaxSg, n));
        }
        else
        {
            r.Kind = TraceEventKind.DmaUnmapPhys;
            r.EventName = "dma_unmap_phys";
            r.DmaAddr = _livePhys[li * MaxSg];
            r.Size = _liveSize[li];
        }
        // Swap-remove the slot.
        if (li != last)
        {
            _livePhys.AsSpan(last * MaxSg, MaxSg).CopyTo(_livePhys.AsSpan(li * MaxSg, MaxSg));
            _liveSize[li] = _liveSize[last];
            _liveNents[li] = _liveNents[last];
            _liveDir[li] = _liveDir[last];
        }
    }

    ulong RandomPage() => 0x1_0000_0000UL + (_rng.Next(1UL << 24) << 12);

    /// <summary>The trace as tracefs text (header included), generated as it is read.</summary>
    public Stream OpenText() => new TextStream(this);

    sealed class TextStream(SyntheticDmaTrace gen) : ReadOnlyStream
    {
        const int LineBuffer = 16 * 1024; // the longest generated line (an 8-entry sg map) with room to spare
        readonly TraceRecord _r = new();
        readonly StringBuilder _sb = new(512);
        byte[] _buf = Encoding.UTF8.GetBytes(TraceEventFormatter.Header(gen._events, gen._devices));
        int _pos, _len = -1;

        public override int Read(Span<byte> dest)
        {
            if (_len < 0) _len = _buf.Length;
            int written = 0;
            while (written < dest.Length)
            {
                if (_pos == _len)
                {
                    if (!gen.Next(_r)) break;
                    if (_buf.Length < LineBuffer) _buf = new byte[LineBuffer];
                    if (TraceEventFormatter.TryFormatLineUtf8(_r, _buf, out _len)) _buf[_len++] = (byte)'\n';
                    else
                    {
                        _sb.Clear();
                        TraceEventFormatter.AppendLine(_sb, _r);
                        _sb.Append('\n');
                        int need = _sb.Length * 3;
                        if (_buf.Length < need) _buf = new byte[need];
                        _len = 0;
                        foreach (var chunk in _sb.GetChunks()) _len += Encoding.UTF8.GetBytes(chunk.Span, _buf.AsSpan(_len));
                    }
                    _pos = 0;
                }
                int n = Math.Min(dest.Length - written, _len - _pos);
                _buf.AsSpan(_pos, n).CopyTo(dest[written..]);
                _pos += n;
                written += n;
            }
            return written;
        }
    }
}
