using System.Text.Json.Nodes;
using Json.Schema;

namespace DmaLab.Tests.Cli;

/// <summary>Every command's --json output validates against its schema in docs/schema/ (docs/json.md).</summary>
public class JsonSchemaTests
{
    static readonly string Trace = CliRunner.DataPath("traces", "qemu-vtd-strict-sample.trace.xz");

    // A schema registers its $id once per process.
    static readonly Dictionary<string, JsonSchema> Schemas = new(StringComparer.Ordinal);

    static void Valid(string schemaFile, string json)
    {
        JsonSchema schema;
        lock (Schemas)
            if (!Schemas.TryGetValue(schemaFile, out schema!))
                Schemas[schemaFile] = schema = JsonSchema.FromFile(Path.Combine(AppContext.BaseDirectory, "schema", schemaFile));
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var result = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        var errors = (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"));
        Assert.True(result.IsValid, $"{schemaFile}: " + string.Join("; ", errors.Take(10)));
        Assert.Equal(1, doc.RootElement.GetProperty("schemaVersion").GetInt32());
    }

    static string Json(params string[] args)
    {
        var r = CliRunner.RunIn(CliRunner.TempDir(), args);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Stdout;
    }

    [Fact]
    public void Replay_as_traced_and_with_a_measured_what_if() 
    {
        Valid("replay.schema.json", Json("replay", Trace, "--json"));
        Valid("replay.schema.json", Json("replay", Trace, "--policy", "lazy", "--json"));
        Valid("replay.schema.json", Json("replay", CliRunner.DataPath("traces", "qemu-vtd-swiotlb-sample.trace.xz"), "--device", "0000:00:04.0", "--json"));
    }

    [Fact]
    public void Run_diff_and_compare()
    {
        Valid("run.schema.json", Json("run", "--workload", "nvme-queue", "camera-noncoherent", "--json"));
        Valid("diff.schema.json", Json("diff", Trace, "--policy", "strict,lazy", "--json"));
        Valid("compare.schema.json", Json("compare", "--workload", "nic-rings", "--policy", "strict,lazy", "--json"));
    }

    [Fact]
    public void Bench_and_platform_commands()
    {
        Valid("bench.schema.json", Json("bench", "--ops", "100", "--filter", "iova", "--json"));
        Valid("platform-list.schema.json", Json("platform", "list", "--json"));
        Valid("platform-show.schema.json", Json("platform", "show", "x86-q35", "--json"));
        Valid("platform-import.schema.json", Json("platform", "import", CliRunner.DataPath("dtb", "arm64_qcom_sm8250-hdk.dtb"), "--json"));
        string dir = CliRunner.TempDir();
        string bad = Path.Combine(dir, "bad.dtb");
        File.WriteAllBytes(bad, [1, 2, 3]);
        var r = CliRunner.Run("platform", "import", CliRunner.DataPath("dtb", "armhf_omap4-panda.dtb"), bad, "--json");
        Assert.Equal(2, r.ExitCode);
        foreach (var line in r.Stdout.Trim().Split('\n')) Valid("platform-import.schema.json", line);
    }

    [Fact]
    public void Addresses_are_hex_strings_and_the_as_traced_model_has_no_lookups()
    {
        var j = JsonNode.Parse(Json("replay", CliRunner.DataPath("traces", "h100-cuda-pinned.trace.xz"), "--json"))!;
        Assert.Matches("^0x[0-9a-f]+$", j["findings"]![0]!["address"]!.GetValue<string>());
        var model = j["model"]!;
        Assert.False(model["measured"]!.GetValue<bool>());
        Assert.Null(model["iotlbLookups"]);
    }
}
