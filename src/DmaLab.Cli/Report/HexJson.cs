using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace DmaLab.Cli.Report;

/// <summary>
/// JSON conventions of every dmalab document: <c>schemaVersion</c> first, and addresses and masks as "0x…" strings
/// (a 64-bit number loses bits in JavaScript). Applied as a type-info modifier so the report types stay plain.
/// </summary>
public static class HexJson
{
    /// <summary>Property names (C#) whose ulong values are addresses or masks.</summary>
    static readonly HashSet<string> AddressNames = new(StringComparer.Ordinal)
    {
        "Address", "Iova", "Paddr", "PhysAddr", "DmaAddr", "SwiotlbSlotsLow", "SwiotlbSlotsHigh", "DmaMask", "MaxDmaAddrEnd",
    };

    /// <summary>Adds schemaVersion to <paramref name="root"/>, writes address properties as hex strings.</summary>
    public static Action<JsonTypeInfo> Modifier(Type root) => info =>
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        if (info.Type == root)
        {
            var v = info.CreateJsonPropertyInfo(typeof(int), "schemaVersion");
            v.Get = _ => JsonSchemaVersion.Current;
            info.Properties.Insert(0, v);
        }
        foreach (var p in info.Properties)
            if (p.AttributeProvider is System.Reflection.MemberInfo m && AddressNames.Contains(m.Name))
            {
                if (p.PropertyType == typeof(ulong)) p.CustomConverter = new Hex();
                else if (p.PropertyType == typeof(ulong?)) p.CustomConverter = new HexNullable();
            }
    };

    public static string Format(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    static ulong Parse(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number) return reader.GetUInt64();
        string s = reader.GetString() ?? "";
        return ulong.Parse(s.StartsWith("0x", StringComparison.Ordinal) ? s[2..] : s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    sealed class Hex : JsonConverter<ulong>
    {
        public override ulong Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => Parse(ref reader);
        public override void Write(Utf8JsonWriter writer, ulong value, JsonSerializerOptions options) => writer.WriteStringValue(Format(value));
    }

    sealed class HexNullable : JsonConverter<ulong?>
    {
        public override ulong? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? null : Parse(ref reader);
        public override void Write(Utf8JsonWriter writer, ulong? value, JsonSerializerOptions options)
        {
            if (value is ulong v) writer.WriteStringValue(Format(v)); else writer.WriteNullValue();
        }
    }
}
