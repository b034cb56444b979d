using System.Runtime.CompilerServices;
using DmaLab.Analysis;
using DmaLab.Sim;

namespace DmaLab.Mm;

/// <summary>
/// The CPU data cache as a non-coherent DMA master experiences it (arm64 point of coherency): write-back,
/// write-allocate lines of <see cref="LineSize"/> bytes holding real data, sparse (only touched lines exist).
/// CPU loads and stores go through it; devices go to <see cref="PhysicalMemory"/> directly unless they snoop.
/// Maintenance by physical range follows arch/arm64/mm/cache.S: <see cref="Clean"/> is dcache_clean_poc (DC CVAC),
/// <see cref="Invalidate"/> is dcache_inval_poc (DC IVAC, with DC CIVAC on partial lines at either end so a
/// neighbour's dirty bytes survive) and <see cref="CleanInvalidate"/> is dcache_clean_inval_poc (DC CIVAC).
/// arch_sync_dma_for_device() cleans for every direction; arch_sync_dma_for_cpu() invalidates unless TO_DEVICE
/// (arch/arm64/mm/dma-mapping.c).
/// Detected incoherence, reported as <see cref="Finding"/>s with addresses: a non-snooping device reading memory
/// while a line is dirty (it reads stale memory: a missing dma_sync_*_for_device), the CPU reading a clean line
/// whose memory a device rewrote after the fill (a missing dma_sync_*_for_cpu / unmap), and a device writing
/// under a dirty line (the later write-back clobbers the device's data). Snooping (coherent) masters see and
/// update the cached data and never produce findings.
/// Capacity is unbounded by default; with a capacity, victims are chosen by a seeded <see cref="Rng"/>, so runs
/// stay deterministic.
/// </summary>
public sealed class CpuCache
{
    readonly PhysicalMemory _mem;
    readonly int _lineShift;
    readonly int _capacity;
    readonly Rng? _rng;
    readonly Dictionary<ulong, int> _index = new();
    ulong[] _tag = new ulong[64];
    CpuCacheLineState[] _state = new CpuCacheLineState[64];
    short[] _staleWriter = new short[64];           // -1: not stale; else index into _writers
    byte[] _data;
    readonly Stack<int> _freeSlots = new();
    int _used;
    readonly List<string> _writers = new();
    readonly List<Finding> _findings = new();

    /// <param name="memory">the DRAM behind the cache</param>
    /// <param name="lineSize">cache line size in bytes (platform CacheLineSize, a power of two, default 64)</param>
    /// <param name="capacityLines">0 = unbounded; otherwise lines held before a seeded random victim is evicted</param>
    /// <param name="seed">seed of the eviction stream (only used with a capacity)</param>
    public CpuCache(PhysicalMemory memory, int lineSize = 64, int capacityLines = 0, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (lineSize < 16 || lineSize > 4096 || (lineSize & (lineSize - 1)) != 0)
            throw new ArgumentException($"cache line size {lineSize}: expected a power of two between 16 and 4096");
        if (capacityLines < 0) throw new ArgumentException($"cache capacity {capacityLines} lines: expected >= 0");
        _mem = memory;
        LineSize = lineSize;
        _lineShift = System.Numerics.BitOperations.Log2((uint)lineSize);
        _capacity = capacityLines;
        _rng = capacityLines > 0 ? Rng.For(seed, "cpu-cache") : null;
        _data = new byte[64 * lineSize];
    }

    public int LineSize { get; }
    public PhysicalMemory Memory => _mem;
    public CpuCacheStats Stats { get; } = new();
    /// <summary>Lines currently present.</summary>
    public int LinesPresent => _index.Count;
    /// <summary>Incoherence detected so far, oldest first.</summary>
    public IReadOnlyList<Finding> Findings => _findings;

    /// <summary>Returns and forgets the findings collected so far (a workload takes its own).</summary>
    public List<Finding> TakeFindings()
    {
        var r = new List<Finding>(_findings);
        _findings.Clear();
        return r;
    }

    /// <summary>State of the line holding <paramref name="addr"/>.</summary>
    public CpuCacheLineState StateOf(PhysAddr addr) =>
        _index.TryGetValue(addr.Value >> _lineShift, out int s) ? _state[s] : CpuCacheLineState.Invalid;

    /// <summary>Whether the line holding <paramref name="addr"/> is older than memory (a device wrote under it).</summary>
    public bool IsStale(PhysAddr addr) => _index.TryGetValue(addr.Value >> _lineShift, out int s) && _staleWriter[s] >= 0;

    // ---------------------------------------------------------------- CPU side

    /// <summary>A CPU load through the cache (line fill on miss). Reading a stale clean line is a finding.</summary>
    public MemAccess CpuRead(PhysAddr addr, Span<byte> dst)
    {
        if (!_mem.IsDram(addr, (ulong)dst.Length)) return MemAccess.BusError;
        ulong a = addr.Value;
        int staleLines = 0; ulong firstStale = 0; short writer = -1;
        while (!dst.IsEmpty)
        {
            int off = (int)(a & (ulong)(LineSize - 1));
            int n = Math.Min(LineSize - off, dst.Length);
            int slot = Lookup(a >> _lineShift, fill: true);
            if (_staleWriter[slot] >= 0 && _state[slot] == CpuCacheLineState.Clean)
            {
                if (staleLines++ == 0) { firstStale = a; writer = _staleWriter[slot]; }
            }
            _data.AsSpan(slot * LineSize + off, n).CopyTo(dst);
            dst = dst[n..];
            a += (ulong)n;
        }
        if (staleLines > 0)
        {
            Stats.StaleCpuReads++;
            string dev = writer >= 0 ? _writers[writer] : "";
            _findings.Add(new Finding("stale-cpu-read", dev, firstStale,
                $"CPU read of [0x{addr.Value:x}+0x{a - addr.Value:x}] returned {staleLines} stale cache line(s) from 0x{firstStale:x}: " +
                $"{dev} wrote memory after the line(s) were cached and nothing invalidated them (missing dma_sync_*_for_cpu or dma_unmap_*)"));
        }
        return MemAccess.Ok;
    }

    /// <summary>A CPU store through the cache (write-allocate: the line is filled, then dirtied).</summary>
    public MemAccess CpuWrite(PhysAddr addr, ReadOnlySpan<byte> src)
    {
        if (!_mem.IsDram(addr, (ulong)src.Length)) return MemAccess.BusError;
        ulong a = addr.Value;
        while (!src.IsEmpty)
        {
            int off = (int)(a & (ulong)(LineSize - 1));
            int n = Math.Min(LineSize - off, src.Length);
            int slot = Lookup(a >> _lineShift, fill: true);
            src[..n].CopyTo(_data.AsSpan(slot * LineSize + off, n));
            _state[slot] = CpuCacheLineState.Dirty;
            src = src[n..];
            a += (ulong)n;
        }
        return MemAccess.Ok;
    }

    /// <summary>A CPU store of one byte value over a range (memset through the cache).</summary>
    public MemAccess CpuFill(PhysAddr addr, ulong len, byte value)
    {
        if (!_mem.IsDram(addr, len)) return MemAccess.BusError;
        Span<byte> chunk = stackalloc byte[256];
        chunk.Fill(value);
        ulong done = 0;
        while (done < len)
        {
            int n = (int)Math.Min((ulong)chunk.Length, len - done);
            CpuWrite(addr + done, chunk[..n]);
            done += (ulong)n;
        }
        return MemAccess.Ok;
    }

    // ---------------------------------------------------------------- maintenance (by physical range)

    /// <summary>dcache_clean_poc (DC CVAC per line): dirty lines are written back and become clean.</summary>
    public void Clean(PhysAddr addr, ulong len)
    {
        if (len == 0 || _index.Count == 0) { Stats.CleanLines += LinesIn(addr, len); return; }
        for (ulong l = addr.Value >> _lineShift, end = (addr.Value + len - 1) >> _lineShift; l <= end; l++)
        {
            Stats.CleanLines++;
            if (_index.TryGetValue(l, out int s) && _state[s] == CpuCacheLineState.Dirty) WriteBack(s);
        }
    }

    /// <summary>
    /// dcache_inval_poc: lines wholly inside the range are discarded (DC IVAC: dirty data is lost), a line only
    /// partly covered at the start or the end is cleaned and invalidated (DC CIVAC) so bytes outside the range survive.
    /// </summary>
    public void Invalidate(PhysAddr addr, ulong len)
    {
        if (len == 0) return;
        ulong start = addr.Value, stop = addr.Value + len;
        ulong first = start >> _lineShift, last = (stop - 1) >> _lineShift;
        ulong mask = (ulong)LineSize - 1;
        for (ulong l = first; l <= last; l++)
        {
            bool partial = (l == first && (start & mask) != 0) || (l == last && (stop & mask) != 0);
            if (partial) Stats.CleanInvalidateLines++; else Stats.InvalidateLines++;
            if (_index.Count == 0 || !_index.TryGetValue(l, out int s)) continue;
            if (_state[s] == CpuCacheLineState.Dirty)
            {
                if (partial) WriteBack(s);
                else Stats.DirtyLinesDiscarded++;
            }
            Remove(s);
        }
    }

    /// <summary>dcache_clean_inval_poc (DC CIVAC per line): write back dirty lines, then drop every line.</summary>
    public void CleanInvalidate(PhysAddr addr, ulong len)
    {
        if (len == 0) return;
        for (ulong l = addr.Value >> _lineShift, end = (addr.Value + len - 1) >> _lineShift; l <= end; l++)
        {
            Stats.CleanInvalidateLines++;
            if (_index.Count == 0 || !_index.TryGetValue(l, out int s)) continue;
            if (_state[s] == CpuCacheLineState.Dirty) WriteBack(s);
            Remove(s);
        }
    }

    /// <summary>
    /// Before a bulk copy that the model performs on memory directly but that the kernel performs with the CPU
    /// (swiotlb_bounce's memcpy): the CPU's copy would read its own dirty lines, so write them back first. Not
    /// counted as maintenance: the kernel issues no cache operation here.
    /// </summary>
    public void PrepareCpuCopyFrom(PhysAddr addr, ulong len)
    {
        if (len == 0 || _index.Count == 0) return;
        for (ulong l = addr.Value >> _lineShift, end = (addr.Value + len - 1) >> _lineShift; l <= end; l++)
            if (_index.TryGetValue(l, out int s) && _state[s] == CpuCacheLineState.Dirty) WriteBack(s);
    }

    /// <summary>
    /// After a bulk copy into memory that the kernel performs with the CPU: a CPU store would have updated any
    /// cached copy of those bytes, so refresh present lines from memory (their state is unchanged; a line fully
    /// rewritten is no longer stale).
    /// </summary>
    public void CompleteCpuCopyTo(PhysAddr addr, ulong len)
    {
        if (len == 0 || _index.Count == 0) return;
        ulong start = addr.Value, stop = addr.Value + len;
        for (ulong l = start >> _lineShift, end = (stop - 1) >> _lineShift; l <= end; l++)
        {
            if (!_index.TryGetValue(l, out int s)) continue;
            ulong ls = l << _lineShift, le = ls + (ulong)LineSize;
            ulong cs = Math.Max(ls, start), ce = Math.Min(le, stop);
            _mem.Read(new PhysAddr(cs), _data.AsSpan(s * LineSize + (int)(cs - ls), (int)(ce - cs)));
            if (cs == ls && ce == le) _staleWriter[s] = -1;
        }
    }

    // ---------------------------------------------------------------- device side

    /// <summary>
    /// A device reads memory. A snooping device sees dirty cached data; a non-coherent one reads DRAM and, when a
    /// line of the range is dirty, gets stale bytes: reported as "stale-device-read".
    /// </summary>
    public MemAccess DeviceRead(string device, bool coherent, PhysAddr addr, Span<byte> dst)
    {
        var rc = _mem.Read(addr, dst);
        if (rc != MemAccess.Ok || _index.Count == 0) return rc;
        ulong start = addr.Value, stop = start + (ulong)dst.Length;
        if (dst.Length == 0) return rc;
        int dirty = 0; ulong firstDirty = 0;
        for (ulong l = start >> _lineShift, end = (stop - 1) >> _lineShift; l <= end; l++)
        {
            if (!_index.TryGetValue(l, out int s) || _state[s] != CpuCacheLineState.Dirty) continue;
            ulong ls = l << _lineShift;
            ulong cs = Math.Max(ls, start), ce = Math.Min(ls + (ulong)LineSize, stop);
            if (coherent)
                _data.AsSpan(s * LineSize + (int)(cs - ls), (int)(ce - cs)).CopyTo(dst[(int)(cs - start)..]);
            else if (dirty++ == 0) firstDirty = cs;
        }
        if (dirty > 0)
        {
            Stats.StaleDeviceReads++;
            _findings.Add(new Finding("stale-device-read", device, firstDirty,
                $"{device} read [0x{start:x}+0x{stop - start:x}] from memory while {dirty} cache line(s) from 0x{firstDirty:x} were dirty: " +
                "the device read stale data (missing dma_sync_*_for_device or mapping before the CPU finished writing)"));
        }
        return rc;
    }

    /// <summary>
    /// A device writes memory. A snooping device updates cached copies too. For a non-coherent device cached
    /// lines become stale; a dirty line under the write is reported as "device-write-under-dirty-line" (its later
    /// write-back would overwrite what the device wrote).
    /// </summary>
    public MemAccess DeviceWrite(string device, bool coherent, PhysAddr addr, ReadOnlySpan<byte> src)
    {
        var rc = _mem.Write(addr, src);
        if (rc != MemAccess.Ok || _index.Count == 0 || src.Length == 0) return rc;
        ulong start = addr.Value, stop = start + (ulong)src.Length;
        int dirty = 0; ulong firstDirty = 0;
        short writer = -1;
        for (ulong l = start >> _lineShift, end = (stop - 1) >> _lineShift; l <= end; l++)
        {
            if (!_index.TryGetValue(l, out int s)) continue;
            ulong ls = l << _lineShift;
            ulong cs = Math.Max(ls, start), ce = Math.Min(ls + (ulong)LineSize, stop);
            if (coherent)
            {
                src.Slice((int)(cs - start), (int)(ce - cs)).CopyTo(_data.AsSpan(s * LineSize + (int)(cs - ls)));
                continue;
            }
            if (writer < 0) writer = WriterId(device);
            _staleWriter[s] = writer;
            if (_state[s] == CpuCacheLineState.Dirty && dirty++ == 0) firstDirty = cs;
        }
        if (dirty > 0)
        {
            Stats.DeviceWritesUnderDirtyLines++;
            _findings.Add(new Finding("device-write-under-dirty-line", device, firstDirty,
                $"{device} wrote [0x{start:x}+0x{stop - start:x}] while {dirty} cache line(s) from 0x{firstDirty:x} were dirty: " +
                "their write-back will overwrite the device's data (buffer written by the CPU after dma_map/sync_for_device)"));
        }
        return rc;
    }

    // ---------------------------------------------------------------- internals

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    long LinesIn(PhysAddr addr, ulong len) => len == 0 ? 0 : (long)(((addr.Value + len - 1) >> _lineShift) - (addr.Value >> _lineShift) + 1);

    int Lookup(ulong line, bool fill)
    {
        if (_index.TryGetValue(line, out int s)) { Stats.Hits++; return s; }
        Stats.Misses++;
        if (_capacity > 0 && _index.Count >= _capacity) Evict();
        s = AllocSlot();
        _tag[s] = line;
        _state[s] = CpuCacheLineState.Clean;
        _staleWriter[s] = -1;
        _index[line] = s;
        if (fill) _mem.Read(new PhysAddr(line << _lineShift), _data.AsSpan(s * LineSize, LineSize));
        return s;
    }

    int AllocSlot()
    {
        if (_freeSlots.Count > 0) return _freeSlots.Pop();
        if (_used == _tag.Length)
        {
            int n = _tag.Length * 2;
            Array.Resize(ref _tag, n);
            Array.Resize(ref _state, n);
            Array.Resize(ref _staleWriter, n);
            Array.Resize(ref _data, n * LineSize);
        }
        return _used++;
    }

    void Evict()
    {
        // Victims by a seeded stream over the occupied slots: deterministic, and no LRU bookkeeping per access.
        while (true)
        {
            int s = (int)_rng!.Next((ulong)_used);
            if (_state[s] == CpuCacheLineState.Invalid) continue;
            if (_state[s] == CpuCacheLineState.Dirty) WriteBack(s);
            Stats.Evictions++;
            Remove(s);
            return;
        }
    }

    void WriteBack(int s)
    {
        _mem.Write(new PhysAddr(_tag[s] << _lineShift), _data.AsSpan(s * LineSize, LineSize));
        _state[s] = CpuCacheLineState.Clean;
        _staleWriter[s] = -1;          // memory and line agree again
        Stats.WriteBacks++;
    }

    void Remove(int s)
    {
        _index.Remove(_tag[s]);
        _state[s] = CpuCacheLineState.Invalid;
        _staleWriter[s] = -1;
        _freeSlots.Push(s);
    }

    short WriterId(string device)
    {
        int i = _writers.IndexOf(device);
        if (i < 0) { _writers.Add(device); i = _writers.Count - 1; }
        return (short)i;
    }

    /// <summary>Checks the index against the slot arrays; throws on a DmaLab bug.</summary>
    public void Validate()
    {
        foreach (var (line, s) in _index)
        {
            if (_tag[s] != line) throw new InvalidOperationException($"cpu cache: slot {s} holds line 0x{_tag[s]:x}, index says 0x{line:x}");
            if (_state[s] == CpuCacheLineState.Invalid) throw new InvalidOperationException($"cpu cache: indexed line 0x{line:x} is invalid");
        }
        if (_index.Count + _freeSlots.Count != _used) throw new InvalidOperationException("cpu cache: slot accounting broken");
        if (_capacity > 0 && _index.Count > _capacity) throw new InvalidOperationException("cpu cache: over capacity");
    }
}
