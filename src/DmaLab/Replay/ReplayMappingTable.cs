using System.Runtime.InteropServices;
using DmaLab.Dma;

namespace DmaLab.Replay;

/// <summary>Which table a live entry is in.</summary>
internal enum ReplayTable : byte { Single = 0, Sg = 1, Coherent = 2 }

/// <summary>One live mapping or allocation, stored by value in the pool.</summary>
internal struct LiveMapping
{
    public ulong TraceDma;    // kernel's dma_addr (single/alloc) or first dma_addr (sg)
    public ulong ModelDma;    // the model's answer (same convention)
    public ulong Phys;        // phys_addr, or first phys of an sg list
    public ulong Size;        // requested size (single/alloc); for sg the listed DMA bytes
    public ulong StartNs;
    public long Line;
    public ulong SgHash;      // hash of the listed phys addresses
    public int SgListed;      // phys entries listed (<= 128)
    public int SgNents;       // full nents
    public int Device;
    public int Process;
    public int Lane;          // timeline lane
    public int Site;          // call site (ReplayCallSites id, 0 = no stack)
    public int Next;          // chain link / free list
    public DmaDirection Dir;
    public bool CachelineTracked;
    public ulong Cacheline;
    public ReplayTable Table;
    public bool InView;       // made by an event the report's filter passes (ReplayFilter)
}

/// <summary>Key of a chain of live entries: table, device and address (dma_addr, or first phys for sg lists).</summary>
internal readonly struct MapKey(ReplayTable table, int device, ulong addr) : IEquatable<MapKey>
{
    public readonly ulong Addr = addr;
    public readonly int Device = device;
    public readonly ReplayTable Table = table;
    public bool Equals(MapKey o) => Addr == o.Addr && Device == o.Device && Table == o.Table;
    public override bool Equals(object? obj) => obj is MapKey k && Equals(k);
    public override int GetHashCode()
    {
        ulong h = (Addr ^ ((ulong)(uint)Device << 40) ^ ((ulong)Table << 60)) * 0x9E3779B97F4A7C15UL;
        return (int)(h >> 32);
    }
}

/// <summary>
/// Live mappings of every device in one pool of structs with free-list reuse and hash chains per key, so the
/// steady state of a replay allocates nothing (the same buffer may be live several times at once: chains).
/// Linux counterpart in spirit: kernel/dma/debug.c, the hash of dma_debug_entry by (dev, dev_addr).
/// </summary>
internal sealed class ReplayMappingTable
{
    LiveMapping[] _pool = new LiveMapping[1024];
    int _used;
    int _free = -1;
    readonly Dictionary<MapKey, int> _heads = new();

    public long LiveCount { get; private set; }

    public ref LiveMapping this[int index] => ref _pool[index];

    public int Add(in MapKey key, in LiveMapping value)
    {
        int idx;
        if (_free >= 0) { idx = _free; _free = _pool[idx].Next; }
        else
        {
            if (_used == _pool.Length) Array.Resize(ref _pool, _pool.Length * 2);
            idx = _used++;
        }
        ref int head = ref CollectionsMarshal.GetValueRefOrAddDefault(_heads, key, out bool exists);
        _pool[idx] = value;
        _pool[idx].Next = exists ? head : -1;
        head = idx;
        LiveCount++;
        return idx;
    }

    /// <summary>Head of the chain for <paramref name="key"/>, or -1.</summary>
    public int Head(in MapKey key) => _heads.TryGetValue(key, out int h) ? h : -1;

    /// <summary>Next entry in a chain, or -1.</summary>
    public int NextOf(int index) => _pool[index].Next;

    /// <summary>Removes entry <paramref name="index"/> (found in the chain of <paramref name="key"/> after
    /// <paramref name="prev"/>, -1 when it is the head).</summary>
    public void Remove(in MapKey key, int index, int prev)
    {
        int next = _pool[index].Next;
        if (prev < 0)
        {
            if (next < 0) _heads.Remove(key);
            else _heads[key] = next;
        }
        else _pool[prev].Next = next;
        _pool[index].Next = _free;
        _free = index;
        LiveCount--;
    }

    /// <summary>Every live entry (order: by chain, stable for a given input).</summary>
    public IEnumerable<int> LiveIndices()
    {
        foreach (var kv in _heads)
            for (int i = kv.Value; i >= 0; i = _pool[i].Next) yield return i;
    }

    /// <summary>True when another device has a live entry in <paramref name="table"/> at <paramref name="addr"/>.</summary>
    public bool OtherDeviceHas(ReplayTable table, ulong addr, int device, int deviceCount)
    {
        for (int d = 0; d < deviceCount; d++)
            if (d != device && _heads.ContainsKey(new MapKey(table, d, addr))) return true;
        return false;
    }
}
