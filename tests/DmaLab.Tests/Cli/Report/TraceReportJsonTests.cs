using System.Text.Json;
using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Cli.Report;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Cli.Report;

public class TraceReportJsonTests
{
    [Fact]
    public void Json_has_the_design_contract_fields()
    {
        using var reader = TraceSamples.Open(TraceSamples.H100);
        var report = TraceReplayer.Replay(reader, new ReplayOptions { Model = new IdentityReplayModel(), Input = "h100-cuda-pinned.trace.xz" });
        using var doc = JsonDocument.Parse(ReplayReportJson.Serialize(report));
        var root = doc.RootElement;
        Assert.Equal("h100-cuda-pinned.trace.xz", root.GetProperty("input").GetString());
        Assert.Equal(1157, root.GetProperty("lines").GetInt64());
        Assert.Equal(0, root.GetProperty("skippedLines").GetInt64());
        Assert.Equal(554, root.GetProperty("events").GetProperty("dma_map_phys").GetInt64());
        Assert.Equal(9, root.GetProperty("events").GetProperty("tracing_mark_write").GetInt64());
        var dev = root.GetProperty("devices")[0];
        Assert.Equal("0000:00:06.0", dev.GetProperty("name").GetString());
        Assert.Equal(575, dev.GetProperty("maps").GetInt64());
        Assert.Equal(573, dev.GetProperty("unmaps").GetInt64());
        Assert.True(dev.GetProperty("bytesMapped").GetUInt64() > 0);
        Assert.Equal(2, dev.GetProperty("liveMappingsAtEnd").GetInt64());
        Assert.True(dev.GetProperty("liveBytesAtEnd").GetInt64() > 0);
        Assert.Equal(2, root.GetProperty("liveMappingsAtEnd").GetInt64());
        var fid = root.GetProperty("fidelity");
        Assert.Equal(575, fid.GetProperty("compared").GetInt64());
        Assert.Equal(575, fid.GetProperty("matched").GetInt64());
        Assert.Equal(0, fid.GetProperty("firstMismatches").GetArrayLength());
        var finding = root.GetProperty("findings")[0];
        Assert.Equal("live-at-end", finding.GetProperty("kind").GetString());
        Assert.True(finding.GetProperty("line").GetInt64() > 0);
        Assert.Equal("0000:00:06.0", finding.GetProperty("device").GetString());
        Assert.False(string.IsNullOrEmpty(finding.GetProperty("message").GetString()));
        Assert.Equal("dma-direct", root.GetProperty("platform").GetProperty("dmaOps").GetString());
    }
}
