using System.Text.Json;
using DmaLab.Analysis.Bench;

namespace DmaLab.Cli.Report;

/// <summary>Writes a <see cref="BenchResult"/> in the <c>dmalab bench --json</c> shape (DESIGN.md), plus extra fields.</summary>
public static class BenchResultJson
{
    public static void Write(Utf8JsonWriter w, BenchResult r)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(r);
        w.WriteStartObject();
        w.WriteNumber("schemaVersion", JsonSchemaVersion.Current);
        w.WriteString("machine", r.Machine);
        w.WriteNumber("threads", r.Threads);
        w.WriteNumber("opsPerThread", r.OpsPerThread);
        w.WriteNumber("seed", r.Seed);
        w.WriteString("note", r.Note);
        w.WriteStartArray("results");
        foreach (var e in r.Results)
        {
            w.WriteStartObject();
            w.WriteString("name", e.Name);
            w.WriteNumber("nsPerOp", Math.Round(e.NsPerOp, 2));
            w.WriteNumber("opsPerSec", Math.Round(e.OpsPerSec));
            w.WriteNumber("allocatedBytesPerOp", Math.Round(e.AllocatedBytesPerOp, 3));
            w.WriteString("description", e.Description);
            w.WriteNumber("totalOps", e.TotalOps);
            w.WriteNumber("completed", e.Completed);
            w.WriteNumber("modelCount", e.ModelCount);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The result as an indented JSON string.</summary>
    public static string ToJson(BenchResult r)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true })) Write(w, r);
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }
}
