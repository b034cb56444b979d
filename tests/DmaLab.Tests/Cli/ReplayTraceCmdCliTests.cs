using System.Text.Json;

namespace DmaLab.Tests.Cli;

/// <summary>`dmalab replay` on trace-cmd .dat files: found by content, compressed or not, and cut files as one-line
/// errors with exit 2.</summary>
public class ReplayTraceCmdCliTests
{
    [Theory]
    [InlineData("qemu-vtd-strict-sample-tracecmd.dat", "zstd")]
    [InlineData("qemu-vtd-strict-sample-tracecmd.v6.dat.xz", "xz")]
    public void A_dat_replays_with_the_fidelity_of_its_text_twin(string file, string compression)
    {
        var r = CliRunner.Run("replay", CliRunner.DataPath("traces", file), "--json");
        Assert.Equal(0, r.ExitCode);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(4407, j.GetProperty("lines").GetInt64());
        Assert.Equal(0, j.GetProperty("skippedLines").GetInt64());
        Assert.Equal(compression, j.GetProperty("compression").GetString());
        var ev = j.GetProperty("events");
        Assert.Equal(138, ev.GetProperty("dma_map_sg").GetInt64());
        Assert.Equal(22, ev.GetProperty("tracing_mark_write").GetInt64());
        var fid = j.GetProperty("fidelity");
        Assert.Equal(990, fid.GetProperty("compared").GetInt64());
        Assert.Equal(990, fid.GetProperty("matched").GetInt64());
        // Without the kernel log the events cannot tell VT-d from AMD-Vi or virtio-iommu (see --dmesg).
        Assert.Equal("x86-unknown", j.GetProperty("platform").GetProperty("iommuKind").GetString());
    }

    [Fact]
    public void A_cut_dat_is_one_line_with_the_offset_and_exit_2()
    {
        var bytes = File.ReadAllBytes(CliRunner.DataPath("traces", "qemu-vtd-strict-sample-tracecmd.dat"));
        string f = Path.Combine(CliRunner.TempDir(), "cut.dat");
        File.WriteAllBytes(f, bytes[..(bytes.Length / 2)]);
        var r = CliRunner.Run("replay", f);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Matches("cut.dat: offset [0-9]+: ", line);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}
