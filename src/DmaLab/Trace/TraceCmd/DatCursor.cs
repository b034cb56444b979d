using System.Buffers.Binary;
using System.Text;

namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// Reads the numbers and strings of a trace-cmd .dat metadata block (a section, an option, the header) in the file's
/// byte order, bounds-checked: running past the end throws a <see cref="TraceFormatException"/> that names the file
/// offset and what was expected there. <see cref="BaseOffset"/> is the file offset of the block's first byte (for a
/// decompressed section: the section's offset, since its bytes have no file offset of their own). A cursor made
/// with <see cref="Sequential"/> reads on from a stream as it goes (the v6 header, which has no section sizes).
/// </summary>
internal sealed class DatCursor(string source, byte[] data, int length, long baseOffset, bool bigEndian, string block)
{
    int _pos;
    Stream? _more;
    long _moreLimit;

    /// <summary>A cursor over <paramref name="stream"/> from its current position, reading at most
    /// <paramref name="limit"/> bytes in all, as they are needed.</summary>
    public static DatCursor Sequential(string source, Stream stream, long limit, bool bigEndian, string block)
    {
        long start = stream.CanSeek ? stream.Position : 0;
        return new DatCursor(source, new byte[4096], 0, start, bigEndian, block) { _more = stream, _moreLimit = limit };
    }

    public string Block { get => block; set => block = value; }
    public bool BigEndian { get => bigEndian; set => bigEndian = value; }

    public int Position { get => _pos; set => _pos = value; }
    public int Length => length;
    /// <summary>Bytes that can still follow (in the block, or in the stream up to its limit).</summary>
    public long Left => (_more is not null ? Math.Max(_moreLimit, length) : length) - _pos;
    public long BaseOffset => baseOffset;
    /// <summary>File offset of the next byte (exact for uncompressed blocks).</summary>
    public long Offset => baseOffset + _pos;
    public bool AtEnd => _pos >= length;
    public byte[] Data => data;

    public TraceFormatException Error(string what) =>
        new(source, 0, Offset, $"{block}: {what}");

    void Need(int n, string what)
    {
        if (n >= 0 && _pos + (long)n > length && _more is not null) Fetch(_pos + (long)n);
        if (n < 0 || _pos + (long)n > length)
            throw Error($"cut: expected {what} ({n} bytes), {Math.Max(0, length - _pos)} left");
    }

    /// <summary>Reads on from the stream until <paramref name="upTo"/> bytes are held (or the stream ends).</summary>
    void Fetch(long upTo)
    {
        if (upTo > _moreLimit) upTo = _moreLimit;
        if (upTo <= length) return;
        if (upTo > data.Length)
        {
            long cap = Math.Max(upTo, Math.Min(_moreLimit, (long)data.Length * 2));
            if (cap > Array.MaxLength) cap = Array.MaxLength;
            Array.Resize(ref data, (int)cap);
        }
        while (length < upTo)
        {
            int r = _more!.Read(data, length, (int)(upTo - length));
            if (r <= 0) { _more = null; break; }
            length += r;
        }
    }

    /// <summary>Index of the next NUL at or after the position, reading on when needed; -1 when there is none.</summary>
    int FindNul()
    {
        while (true)
        {
            int nul = data.AsSpan(_pos, Math.Max(0, length - _pos)).IndexOf((byte)0);
            if (nul >= 0 || _more is null) return nul;
            int before = length;
            Fetch(length + 4096L);
            if (length == before) return -1;
        }
    }

    public ushort U16(string what)
    {
        Need(2, what);
        var s = data.AsSpan(_pos, 2);
        _pos += 2;
        return bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);
    }

    public uint U32(string what)
    {
        Need(4, what);
        var s = data.AsSpan(_pos, 4);
        _pos += 4;
        return bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);
    }

    public ulong U64(string what)
    {
        Need(8, what);
        var s = data.AsSpan(_pos, 8);
        _pos += 8;
        return bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);
    }

    /// <summary>A size or offset that must fit the block (or the file): bounds it before anything is allocated.</summary>
    public int Size64(string what, long max)
    {
        long at = Offset;
        ulong v = U64(what);
        if (v > (ulong)max) throw new TraceFormatException(source, 0, at, $"{block}: {what} {v} is larger than the {max} bytes that can follow");
        return (int)v;
    }

    public int Size32(string what, long max)
    {
        long at = Offset;
        uint v = U32(what);
        if (v > (ulong)max) throw new TraceFormatException(source, 0, at, $"{block}: {what} {v} is larger than the {max} bytes that can follow");
        return (int)v;
    }

    public ReadOnlySpan<byte> Bytes(int n, string what)
    {
        Need(n, what);
        var s = data.AsSpan(_pos, n);
        _pos += n;
        return s;
    }

    /// <summary>A NUL-terminated string.</summary>
    public string CString(string what)
    {
        int nul = FindNul();
        if (nul < 0) throw Error($"cut: expected {what} ending in a NUL byte");
        var s = Encoding.UTF8.GetString(data, _pos, nul);
        _pos += nul + 1;
        return s;
    }

    /// <summary>Exactly <paramref name="expected"/> followed by NUL, as the v6 header's "header_page", "flyrecord".</summary>
    public void Expect(string expected)
    {
        long at = Offset;
        var s = CStringOrNull();
        if (s != expected) throw new TraceFormatException(source, 0, at, $"{block}: expected \"{expected}\", found {(s is null ? "no string" : $"\"{Short(s)}\"")}");
    }

    public string? CStringOrNull()
    {
        int nul = FindNul();
        if (nul < 0) return null;
        var s = Encoding.UTF8.GetString(data, _pos, nul);
        _pos += nul + 1;
        return s;
    }

    static string Short(string s) => s.Length <= 24 ? s : s[..24] + "...";
}
