using System.Text.Json;

namespace DmaLab.Tests.Cli;

/// <summary>`dmalab replay --dmesg`: the log's facts win over the trace's guesses, the report says where each came
/// from, and a log that is not text is a one-line error.</summary>
public class ReplayDmesgCliTests
{
    static JsonElement Replay(string sample, bool withLog)
    {
        var args = new List<string> { "replay", CliRunner.DataPath("traces", sample + ".trace.xz"), "--json" };
        if (withLog) args.AddRange(["--dmesg", CliRunner.DataPath("traces", sample + ".platform.txt")]);
        var r = CliRunner.Run([.. args]);
        Assert.Equal(0, r.ExitCode);
        return JsonDocument.Parse(r.Stdout).RootElement;
    }

    static JsonElement Fact(JsonElement j, string name) =>
        j.GetProperty("facts").EnumerateArray().Single(f => f.GetProperty("name").GetString() == name);

    [Theory]
    [InlineData("qemu-amd-strict-sample", "amd-vi")]
    [InlineData("qemu-virtio-strict-sample", "virtio-iommu")]
    [InlineData("qemu-vtd-strict-sample", "intel-vtd")]
    public void The_log_names_the_family_and_the_trace_alone_names_no_wrong_one(string sample, string family)
    {
        var without = Replay(sample, false);
        Assert.Equal("x86-unknown", without.GetProperty("platform").GetProperty("iommuKind").GetString());
        Assert.Equal("trace", Fact(without, "iommuKind").GetProperty("source").GetString());
        Assert.Equal("default", Fact(without, "hz").GetProperty("source").GetString());

        var with = Replay(sample, true);
        Assert.Equal(family, with.GetProperty("platform").GetProperty("iommuKind").GetString());
        Assert.Equal("log", Fact(with, "iommuKind").GetProperty("source").GetString());
        Assert.Equal("log", Fact(with, "invalidationPolicy").GetProperty("source").GetString());
        Assert.Equal("log", Fact(with, "pciWindows").GetProperty("source").GetString());
        Assert.Equal("log", Fact(with, "kernel").GetProperty("source").GetString());
        var fid = with.GetProperty("fidelity");
        Assert.Equal(fid.GetProperty("compared").GetInt64(), fid.GetProperty("matched").GetInt64());
        Assert.True(with.GetProperty("kernelLog").GetProperty("factLines").GetInt64() > 10);
    }

    [Fact]
    public void Amd_np_cache_is_named_as_the_reason_for_strict()
    {
        var j = Replay("qemu-amd-strict-sample", true);
        var p = Fact(j, "invalidationPolicy");
        Assert.Equal("strict", p.GetProperty("value").GetString());
        Assert.Contains("NpCache", p.GetProperty("detail").GetString());
    }

    [Fact]
    public void A_binary_log_is_one_line_exit_2()
    {
        string f = Path.Combine(CliRunner.TempDir(), "dmesg.bin");
        File.WriteAllBytes(f, [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0]);
        var r = CliRunner.Run("replay", CliRunner.DataPath("traces", "qemu-amd-strict-sample.trace.xz"), "--dmesg", f);
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("offset 7: binary data", r.Stderr);
        var missing = CliRunner.Run("replay", CliRunner.DataPath("traces", "qemu-amd-strict-sample.trace.xz"), "--dmesg", "/nonexistent/dmesg");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--dmesg /nonexistent/dmesg: no such file", missing.Stderr); // the option and the path, as every path check says
    }
}
