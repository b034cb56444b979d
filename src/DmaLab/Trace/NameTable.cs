using System.Text;

namespace DmaLab.Trace;

/// <summary>
/// Interns names read from a trace (devices, tasks, event names) so a name is allocated once and then looked up
/// from the line's bytes without allocating. Ids are dense, in order of first appearance.
/// </summary>
public sealed class NameTable
{
    readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    readonly List<string> _names = new();

    public NameTable() => _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count => _names.Count;
    public string this[int id] => _names[id];
    public IReadOnlyList<string> Names => _names;

    public int Intern(string name)
    {
        if (_ids.TryGetValue(name, out int id)) return id;
        id = _names.Count;
        _ids.Add(name, id);
        _names.Add(name);
        return id;
    }

    public int Intern(ReadOnlySpan<char> name)
    {
        if (_lookup.TryGetValue(name, out int id)) return id;
        return Intern(name.ToString());
    }

    // Recently interned UTF-8 names (a trace repeats the same few tasks, devices and events line after line): a
    // direct-mapped cache indexed by a hash of the name's length and its first and last bytes, so a hit costs one
    // hash and one byte compare instead of decoding and a dictionary lookup. Fixed buffers: a miss allocates nothing.
    const int CacheSlots = 64, CacheBytes = 64;
    readonly byte[] _cacheBytes = new byte[CacheSlots * CacheBytes];
    readonly int[] _cacheLen = new int[CacheSlots]; // length + 1; 0 = empty slot
    readonly int[] _cacheId = new int[CacheSlots];

    /// <summary>Interns UTF-8 bytes (names longer than 256 bytes are decoded on the heap).</summary>
    public int Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > CacheBytes) return InternSlow(utf8);
        int slot = CacheSlot(utf8);
        if (_cacheLen[slot] == utf8.Length + 1 && utf8.SequenceEqual(_cacheBytes.AsSpan(slot * CacheBytes, utf8.Length)))
            return _cacheId[slot];
        int id = InternSlow(utf8);
        utf8.CopyTo(_cacheBytes.AsSpan(slot * CacheBytes));
        _cacheLen[slot] = utf8.Length + 1;
        _cacheId[slot] = id;
        return id;
    }

    /// <summary>The interned string for UTF-8 bytes (same as <c>this[Intern(utf8)]</c>).</summary>
    public string InternName(ReadOnlySpan<byte> utf8) => _names[Intern(utf8)];

    static int CacheSlot(ReadOnlySpan<byte> s)
    {
        ulong h = (ulong)s.Length * 0x9E3779B97F4A7C15UL;
        if (s.Length >= 8)
        {
            h ^= System.Runtime.InteropServices.MemoryMarshal.Read<ulong>(s) * 0xC2B2AE3D27D4EB4FUL;
            h ^= System.Runtime.InteropServices.MemoryMarshal.Read<ulong>(s[^8..]) * 0x165667B19E3779F9UL;
        }
        else
            foreach (byte b in s) h = (h ^ b) * 0x100000001B3UL;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        return (int)(h >> 58); // 64 slots
    }

    int InternSlow(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length <= 256)
        {
            Span<char> chars = stackalloc char[256];
            int n = Encoding.UTF8.GetChars(utf8, chars);
            return Intern(chars[..n]);
        }
        return Intern(Encoding.UTF8.GetString(utf8));
    }

    public bool TryGet(ReadOnlySpan<char> name, out int id) => _lookup.TryGetValue(name, out id);
}
