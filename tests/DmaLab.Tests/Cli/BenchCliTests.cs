using System.Text.Json;

namespace DmaLab.Tests.Cli;

public class BenchCliTests
{
    [Fact]
    public void BenchJsonHasTheContractFields()
    {
        var r = CliRunner.Run("bench", "--ops", "200", "--filter", "dma-direct,iova", "--json");
        Assert.Equal(0, r.ExitCode);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.False(string.IsNullOrEmpty(j.GetProperty("machine").GetString()));
        Assert.Equal(1, j.GetProperty("threads").GetInt32());
        var names = j.GetProperty("results").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToArray();
        Assert.Equal(["dma-direct-map-unmap-4k", "iova-alloc-free-fast"], names);
        foreach (var e in j.GetProperty("results").EnumerateArray())
        {
            Assert.True(e.GetProperty("nsPerOp").GetDouble() > 0);
            Assert.True(e.GetProperty("opsPerSec").GetDouble() > 0);
            Assert.True(e.TryGetProperty("allocatedBytesPerOp", out _));
        }
    }

    [Fact]
    public void BadThreadsIsUsageError()
    {
        var r = CliRunner.Run("bench", "--threads", "0");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--threads", r.Stderr);
    }
}
