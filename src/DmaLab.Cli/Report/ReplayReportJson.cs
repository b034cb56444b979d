using System.Text.Json;
using System.Text.Json.Serialization;
using DmaLab.Replay;

namespace DmaLab.Cli.Report;

/// <summary>System.Text.Json serialisation of <see cref="ReplayReport"/> (camelCase, nulls omitted), the shape of
/// `dmalab replay --json`.</summary>
public static class ReplayReportJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static string Serialize(ReplayReport report) => JsonSerializer.Serialize(report, Options);

    public static void Serialize(ReplayReport report, Stream output) => JsonSerializer.Serialize(output, report, Options);
}
