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

    // Recently interned UTF-8 names (a trace repeats the same few tasks, devices and events line after line):
    // a byte compare against these skips decoding and hashing. Fixed buffers, so a miss allocates nothing.
    const int CacheSlots = 8, CacheBytes = 64;
    readonly byte[] _cacheBytes = new byte[CacheSlots * CacheBytes];
    readonly int[] _cacheLen = new int[CacheSlots];
    readonly int[] _cacheId = new int[CacheSlots];
    int _cacheNext;

    /// <summary>Interns UTF-8 bytes (names longer than 256 bytes are decoded on the heap).</summary>
    public int Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length <= CacheBytes)
        {
            for (int i = 0; i < CacheSlots; i++)
                if (_cacheLen[i] == utf8.Length + 1 && utf8.SequenceEqual(_cacheBytes.AsSpan(i * CacheBytes, utf8.Length)))
                    return _cacheId[i];
            int id = InternSlow(utf8);
            int slot = _cacheNext;
            _cacheNext = (slot + 1) % CacheSlots;
            utf8.CopyTo(_cacheBytes.AsSpan(slot * CacheBytes));
            _cacheLen[slot] = utf8.Length + 1;
            _cacheId[slot] = id;
            return id;
        }
        return InternSlow(utf8);
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
