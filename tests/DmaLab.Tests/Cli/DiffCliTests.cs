using System.Text.Json;

namespace DmaLab.Tests.Cli;

/// <summary>dmalab diff: two traces, or one trace under two policies, side by side with the change.</summary>
public class DiffCliTests
{
    static readonly string Strict = CliRunner.DataPath("traces", "qemu-vtd-strict-sample.trace.xz");
    static readonly string Swiotlb = CliRunner.DataPath("traces", "qemu-vtd-swiotlb-sample.trace.xz");

    static JsonElement Figure(JsonElement figures, string name) => figures.EnumerateArray().Single(f => f.GetProperty("name").GetString() == name);

    [Fact]
    public void Two_policies_of_one_trace_show_the_lazy_flush_queue_saving_invalidations()
    {
        string dir = CliRunner.TempDir();
        var r = CliRunner.Run("diff", Strict, "--policy", "strict,lazy", "--json", "--out", dir);
        Assert.Equal(0, r.ExitCode);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        var inv = Figure(j.GetProperty("machine"), "IOTLB invalidations");
        Assert.True(inv.GetProperty("b").GetDouble() < inv.GetProperty("a").GetDouble());
        Assert.Equal(inv.GetProperty("b").GetDouble() - inv.GetProperty("a").GetDouble(), inv.GetProperty("change").GetDouble());
        var nvme = j.GetProperty("devices").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "0000:00:04.0");
        Assert.Equal(0, Figure(nvme.GetProperty("figures"), "maps").GetProperty("change").GetDouble()); // same calls
        Assert.Contains("lazy", j.GetProperty("b").GetProperty("label").GetString());
        string html = File.ReadAllText(Path.Combine(dir, "diff.html"));
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("IOTLB invalidations", html);
        Assert.Equal(r.Stdout.Trim(), File.ReadAllText(Path.Combine(dir, "diff.json")).Trim());
    }

    [Fact]
    public void Two_traces_show_each_devices_figures_and_the_change_in_the_terminal()
    {
        var r = CliRunner.Run("diff", Strict, Swiotlb);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Change", r.Stdout);
        Assert.Matches(@"│ 0000:00:04\.0 +│ maps +│", r.Stdout);
        Assert.Contains("swiotlb bounces", r.Stdout);
        var j = JsonDocument.Parse(CliRunner.Run("diff", Strict, Swiotlb, "--json").Stdout).RootElement;
        var nvme = j.GetProperty("devices").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "0000:00:04.0");
        var bounces = Figure(nvme.GetProperty("figures"), "swiotlb bounces");
        Assert.Equal(0, bounces.GetProperty("a").GetDouble());
        Assert.True(bounces.GetProperty("b").GetDouble() > 0);
    }
}
