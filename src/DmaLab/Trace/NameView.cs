using System.Runtime.InteropServices;

namespace DmaLab.Trace;

/// <summary>
/// One parsing thread's window on a shared <see cref="NameTable"/>: a trace repeats the same few tasks, devices and
/// events line after line, so recently seen UTF-8 names sit in a direct-mapped cache (indexed by a hash of the
/// name's length and its first and last bytes) and a hit costs one hash and one byte compare, no lock and no
/// decoding. A miss interns the name in the shared table under its lock. Ids are the shared table's.
/// </summary>
internal sealed class NameView
{
    const int CacheSlots = 64, CacheBytes = 64;

    readonly NameTable _shared;
    readonly byte[] _cacheBytes = new byte[CacheSlots * CacheBytes];
    readonly int[] _cacheLen = new int[CacheSlots]; // length + 1; 0 = empty slot
    readonly int[] _cacheId = new int[CacheSlots];
    string[] _names = new string[16]; // shared id → name, for the ids this view has handed out

    public NameView(NameTable shared) => _shared = shared;

    public NameTable Shared => _shared;

    /// <summary>The name of an id this view returned.</summary>
    public string this[int id] => _names[id];

    public int Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > CacheBytes) return Miss(utf8);
        int slot = CacheSlot(utf8);
        if (_cacheLen[slot] == utf8.Length + 1 && utf8.SequenceEqual(_cacheBytes.AsSpan(slot * CacheBytes, utf8.Length)))
            return _cacheId[slot];
        int id = Miss(utf8);
        utf8.CopyTo(_cacheBytes.AsSpan(slot * CacheBytes));
        _cacheLen[slot] = utf8.Length + 1;
        _cacheId[slot] = id;
        return id;
    }

    /// <summary>The interned string for UTF-8 bytes.</summary>
    public string InternName(ReadOnlySpan<byte> utf8)
    {
        int id = Intern(utf8); // first: a miss may replace _names
        return _names[id];
    }

    /// <summary>The name of any id of the shared table (one another thread's view handed out, say).</summary>
    public string NameOf(int id)
    {
        if (id < _names.Length && _names[id] is { } name) return name;
        lock (_shared) name = _shared[id];
        if (id >= _names.Length) Array.Resize(ref _names, Math.Max(id + 1, _names.Length * 2));
        _names[id] = name;
        return name;
    }

    int Miss(ReadOnlySpan<byte> utf8)
    {
        int id;
        string name;
        lock (_shared)
        {
            id = _shared.Intern(utf8);
            name = _shared[id];
        }
        if (id >= _names.Length) Array.Resize(ref _names, Math.Max(id + 1, _names.Length * 2));
        _names[id] = name;
        return id;
    }

    static int CacheSlot(ReadOnlySpan<byte> s)
    {
        ulong h = (ulong)s.Length * 0x9E3779B97F4A7C15UL;
        if (s.Length >= 8)
        {
            h ^= MemoryMarshal.Read<ulong>(s) * 0xC2B2AE3D27D4EB4FUL;
            h ^= MemoryMarshal.Read<ulong>(s[^8..]) * 0x165667B19E3779F9UL;
        }
        else
            foreach (byte b in s) h = (h ^ b) * 0x100000001B3UL;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        return (int)(h >> 58); // 64 slots
    }
}
