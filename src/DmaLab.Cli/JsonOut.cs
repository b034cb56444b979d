using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using DmaLab.Cli.Report;

namespace DmaLab.Cli;

/// <summary>The one JSON style of dmalab: camelCase, indented, deterministic; the document's root object carries
/// <c>schemaVersion</c> and addresses are "0x…" strings (<see cref="HexJson"/>).</summary>
public static class JsonOut
{
    static readonly ConcurrentDictionary<(Type, bool), JsonSerializerOptions> ByRoot = new();

    static JsonSerializerOptions For(Type root, bool indented) => ByRoot.GetOrAdd((root, indented), k => new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = k.Item2,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        IncludeFields = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { HexJson.Modifier(k.Item1) } },
    });

    /// <summary>A whole document: <paramref name="value"/> must serialise as an object (it gets schemaVersion).</summary>
    public static string Serialize<T>(T value, bool indented = true) => JsonSerializer.Serialize(value, For(typeof(T), indented));
}
