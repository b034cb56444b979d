using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using DmaLab.Replay;

namespace DmaLab.Cli.Report;

/// <summary>System.Text.Json serialisation of <see cref="ReplayReport"/> (camelCase, nulls omitted), the shape of
/// `dmalab replay --json` (docs/json.md, docs/schema/replay.schema.json): schemaVersion first, addresses as "0x…"
/// strings, and the model's device-side figures (IOTLB lookups, walks, device accesses) only where they were
/// measured — the as-traced model has no device side and its IOTLB misses are an estimate (<c>measured: false</c>).</summary>
public static class ReplayReportJson
{
    /// <summary>ReplayModelStats properties that only a measured (what-if) run has.</summary>
    static readonly HashSet<string> MeasuredOnly = new(StringComparer.Ordinal)
    {
        "IotlbLookups", "IotlbHits", "PageWalks", "DeviceAccesses", "DeviceAccessFaults", "StaleHits", "StaleHitBytes",
        "StaleHitWindowMaxNs", "InvalidationCommands", "BouncedMappingBytes",
    };

    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { HexJson.Modifier(typeof(ReplayReport)), MeasuredOnlyFigures } },
    };

    static void MeasuredOnlyFigures(JsonTypeInfo info)
    {
        if (info.Type != typeof(ReplayModelStats)) return;
        foreach (var p in info.Properties)
            if (p.AttributeProvider is System.Reflection.MemberInfo m && MeasuredOnly.Contains(m.Name))
                p.ShouldSerialize = (o, _) => ((ReplayModelStats)o).Measured;
    }

    public static string Serialize(ReplayReport report) => JsonSerializer.Serialize(report, Options);

    public static void Serialize(ReplayReport report, Stream output) => JsonSerializer.Serialize(output, report, Options);
}
