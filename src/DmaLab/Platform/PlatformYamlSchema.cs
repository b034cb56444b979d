using System.Globalization;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace DmaLab.Platform;

/// <summary>
/// Checks a platform YAML tree against the shape of <see cref="PlatformSpec"/> before it is deserialised, so every
/// error is in our words at its line and column: each key must name a field of the object it is in (an unknown one
/// is named with the keys that are allowed), each value must be the kind the field is (mapping, list, scalar), each
/// number must fit its field (no negative count, no stream ID beyond 32 bits), sizes and addresses must parse, and
/// a field that cannot be empty is not empty (<c>devices: [ ~ ]</c>). The field names are the camelCase of the
/// spec's properties, as the deserialiser reads them.
/// </summary>
internal static class PlatformYamlSchema
{
    /// <summary>Throws <see cref="PlatformSpecException"/> at the first node that does not fit.</summary>
    public static void Check(YamlNode root, string source) => Walk(root, typeof(PlatformSpec), "", nullable: false, source);

    static readonly NullabilityInfoContext Nullability = new();
    static readonly Dictionary<Type, Dictionary<string, (Type Type, bool CanBeNull)>> Fields = new();

    /// <summary>The YAML fields of a spec type: camelCase name → property type and whether it may be null (the
    /// nullability context is not thread-safe: it is only used under the lock).</summary>
    static Dictionary<string, (Type Type, bool CanBeNull)> FieldsOf(Type t)
    {
        lock (Fields)
        {
            if (Fields.TryGetValue(t, out var f)) return f;
            f = t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanWrite && p.GetCustomAttribute<YamlIgnoreAttribute>() is null)
                .ToDictionary(p => char.ToLowerInvariant(p.Name[0]) + p.Name[1..],
                    p => (p.PropertyType, Nullable.GetUnderlyingType(p.PropertyType) is not null
                                          || Nullability.Create(p).WriteState == NullabilityState.Nullable),
                    StringComparer.Ordinal);
            Fields[t] = f;
            return f;
        }
    }

    static void Walk(YamlNode node, Type type, string path, bool nullable, string source)
    {
        string where = path.Length == 0 ? "the platform" : path;
        if (node is YamlScalarNode { Style: not (ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted) } n && n.Value is null or "" or "~" or "null" or "Null" or "NULL")
        {
            if (!nullable) Fail(node, source, $"{where}: is empty; expected {Expected(type)}");
            return;
        }
        var element = Nullable.GetUnderlyingType(type) ?? type;
        if (element.IsGenericType && element.GetGenericTypeDefinition() == typeof(List<>))
        {
            if (node is not YamlSequenceNode seq) { Fail(node, source, $"{where}: expected a list"); return; }
            var item = element.GetGenericArguments()[0];
            for (int i = 0; i < seq.Children.Count; i++) Walk(seq.Children[i], item, $"{path}[{i}]", nullable: false, source);
            return;
        }
        if (element == typeof(string) || element.IsPrimitive || element == typeof(decimal))
        {
            if (node is not YamlScalarNode s) { Fail(node, source, $"{where}: expected {Expected(element)}, got a {(node is YamlSequenceNode ? "list" : "mapping")}"); return; }
            if (!ScalarFits(s.Value ?? "", element)) Fail(node, source, $"{where}: expected {Expected(element)}, got '{s.Value}'");
            return;
        }
        if (node is not YamlMappingNode map) { Fail(node, source, $"{where}: expected a mapping of {string.Join(", ", FieldsOf(element).Keys)}"); return; }
        var fields = FieldsOf(element);
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode { Value: { } key }) { Fail(k, source, $"{where}: a key must be a plain name"); return; }
            if (!fields.TryGetValue(key, out var field))
            {
                Fail(k, source, $"unknown key '{key}' in {where}; expected one of: {string.Join(", ", fields.Keys)}");
                return;
            }
            Walk(v, field.Type, path.Length == 0 ? key : $"{path}.{key}", field.CanBeNull, source);
        }
    }

    static bool ScalarFits(string v, Type t)
    {
        if (t == typeof(string)) return true;
        if (t == typeof(bool)) return v is "true" or "false" or "True" or "False" or "TRUE" or "FALSE";
        if (t == typeof(ulong)) return SizeYamlConverter.TryParse(v, out _);
        if (t == typeof(double) || t == typeof(float)) return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        if (!TryInteger(v, out Int128 x)) return false;
        (Int128 lo, Int128 hi) = t == typeof(int) ? (int.MinValue, int.MaxValue)
            : t == typeof(uint) ? (0, uint.MaxValue)
            : t == typeof(long) ? (long.MinValue, long.MaxValue)
            : t == typeof(ushort) ? (0, ushort.MaxValue)
            : t == typeof(byte) ? (0, byte.MaxValue)
            : (Int128.MinValue, Int128.MaxValue);
        return x >= lo && x <= hi;
    }

    /// <summary>Decimal with an optional sign, or 0x hex.</summary>
    static bool TryInteger(string v, out Int128 x)
    {
        x = 0;
        v = v.Replace("_", "");
        if (v.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            bool ok = ulong.TryParse(v.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong h);
            x = h;
            return ok;
        }
        return Int128.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out x);
    }

    static string Expected(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(bool)) return "true or false";
        if (t == typeof(ulong)) return "a size or address (decimal, 0x hex, or with a K/M/G/T[iB] suffix)";
        if (t == typeof(int)) return "an integer";
        if (t == typeof(uint)) return "an integer 0..4294967295";
        if (t == typeof(double) || t == typeof(float)) return "a number";
        if (t == typeof(string)) return "text";
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>)) return "a list";
        return "a mapping";
    }

    static void Fail(YamlNode at, string source, string message) =>
        throw new PlatformSpecException($"{source}:{at.Start.Line}:{at.Start.Column}: {message}");
}
