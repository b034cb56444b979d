using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace DmaLab.Platform;

/// <summary>
/// Reads unsigned sizes and addresses as decimal, hex (0x...) or with a binary suffix (K, M, G, T, KiB, MiB, GiB, TiB),
/// and writes addresses back as hex so saved platforms stay readable.
/// </summary>
public sealed class SizeYamlConverter : IYamlTypeConverter
{
    public bool Accepts(Type type) => type == typeof(ulong) || type == typeof(ulong?);

    public object? ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer)
    {
        var scalar = parser.Consume<Scalar>();
        if (type == typeof(ulong?) && (scalar.Value is "" or "~" or "null")) return null;
        if (TryParse(scalar.Value, out ulong v)) return v;
        throw new YamlException(scalar.Start, scalar.End,
            $"expected a size or address (decimal, 0x hex, or with K/M/G/T[iB] suffix), got '{scalar.Value}'");
    }

    public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer)
    {
        if (value is null) { emitter.Emit(new Scalar("~")); return; }
        ulong v = (ulong)value;
        emitter.Emit(new Scalar(v < 4096 ? v.ToString(CultureInfo.InvariantCulture) : $"0x{v:x}"));
    }

    public static bool TryParse(string text, out ulong value)
    {
        var s = text.Trim().Replace("_", "");
        value = 0;
        if (s.Length == 0) return false;
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return ulong.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
        int shift = 0;
        foreach (var (suffix, sh) in Suffixes)
        {
            if (s.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) { shift = sh; s = s[..^suffix.Length].TrimEnd(); break; }
        }
        if (!ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value)) return false;
        if (shift > 0 && value > (ulong.MaxValue >> shift)) return false;
        value <<= shift;
        return true;
    }

    static readonly (string, int)[] Suffixes =
    [
        ("KiB", 10), ("MiB", 20), ("GiB", 30), ("TiB", 40), ("K", 10), ("M", 20), ("G", 30), ("T", 40),
    ];
}
