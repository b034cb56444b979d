using System.Buffers.Binary;
using System.Text;

namespace DmaLab.Platform.Dtb;

/// <summary>
/// A property of a device-tree node: a name and a big-endian value that stays in the blob (no copy).
/// Linux: struct property (include/linux/of.h).
/// </summary>
public sealed class DtProperty
{
    readonly byte[] _blob;

    internal DtProperty(string name, byte[] blob, int valueOffset, int length)
    {
        Name = name;
        _blob = blob;
        ValueOffset = valueOffset;
        Length = length;
    }

    public string Name { get; }
    /// <summary>Byte offset of the value in the blob (for messages).</summary>
    public int ValueOffset { get; }
    /// <summary>Value length in bytes; 0 for a boolean (empty) property.</summary>
    public int Length { get; }
    public ReadOnlySpan<byte> Value => _blob.AsSpan(ValueOffset, Length);
    /// <summary>Number of whole 32-bit cells in the value.</summary>
    public int CellCount => Length / 4;

    /// <summary>Cell <paramref name="index"/> (big-endian u32). The caller checks <see cref="CellCount"/>.</summary>
    public uint Cell(int index) => BinaryPrimitives.ReadUInt32BigEndian(_blob.AsSpan(ValueOffset + index * 4, 4));

    /// <summary>
    /// Reads <paramref name="count"/> cells from <paramref name="index"/> as one number; only the low 64 bits are
    /// kept, as Linux's of_read_number() does.
    /// </summary>
    public ulong Number(int index, int count)
    {
        ulong r = 0;
        for (int i = 0; i < count; i++)
            r = (r << 32) | Cell(index + i);
        return r;
    }

    /// <summary>The value as a u32 when it is exactly one cell (Linux: of_property_read_u32 needs at least 4 bytes).</summary>
    public bool TryGetU32(out uint value)
    {
        if (Length < 4) { value = 0; return false; }
        value = Cell(0);
        return true;
    }

    /// <summary>The NUL-separated strings of the value (Linux: of_property_for_each_string). An unterminated tail counts too.</summary>
    public List<string> Strings()
    {
        var list = new List<string>();
        var v = Value;
        while (v.Length > 0)
        {
            int nul = v.IndexOf((byte)0);
            int len = nul < 0 ? v.Length : nul;
            list.Add(Encoding.UTF8.GetString(v[..len]));
            v = nul < 0 ? default : v[(nul + 1)..];
        }
        return list;
    }

    /// <summary>The first string of the value (up to its NUL).</summary>
    public string String()
    {
        var v = Value;
        int nul = v.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? v : v[..nul]);
    }

    public override string ToString() => $"{Name} ({Length} bytes)";
}
