using System.Text;

namespace DmaLab.Trace;

/// <summary>
/// Interns names read from a trace (devices, tasks, event names) so a name is allocated once. Ids are dense, in
/// order of first interning. Not thread-safe: parsing threads reach it through their own <see cref="NameView"/>,
/// which takes the table's lock on a miss only.
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

    /// <summary>Interns UTF-8 bytes (decoded on the stack up to 256 bytes).</summary>
    public int Intern(ReadOnlySpan<byte> utf8)
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
