using System.Text.Json;

namespace DmaLab.Tests.Cli;

public class ReplayCliTests
{
    [Fact]
    public void H100ReplayJsonMeetsTheContract()
    {
        var r = CliRunner.Run("replay", CliRunner.DataPath("traces", "h100-cuda-pinned.trace.xz"), "--json");
        Assert.Equal(0, r.ExitCode);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(1157, j.GetProperty("lines").GetInt64());
        Assert.Equal(0, j.GetProperty("skippedLines").GetInt64());
        var ev = j.GetProperty("events");
        Assert.Equal(554, ev.GetProperty("dma_map_phys").GetInt64());
        Assert.Equal(554, ev.GetProperty("dma_unmap_phys").GetInt64());
        Assert.Equal(21, ev.GetProperty("dma_map_sg").GetInt64());
        Assert.Equal(19, ev.GetProperty("dma_unmap_sg").GetInt64());
        Assert.Equal(9, ev.GetProperty("tracing_mark_write").GetInt64());
        Assert.Equal(2, j.GetProperty("liveMappingsAtEnd").GetInt64());
        var fid = j.GetProperty("fidelity");
        Assert.Equal(575, fid.GetProperty("compared").GetInt64());
        Assert.Equal(575, fid.GetProperty("matched").GetInt64());
        var dev = j.GetProperty("devices")[0];
        Assert.Equal("0000:00:06.0", dev.GetProperty("name").GetString());
        Assert.Equal(575, dev.GetProperty("maps").GetInt64());
    }

    [Fact]
    public void CheckPassesOnMappingsMerelyLiveAtTheEndAndWritesTimelineAndHtml()
    {
        string dir = CliRunner.TempDir();
        string timeline = Path.Combine(dir, "timeline.json");
        var r = CliRunner.Run("replay", CliRunner.DataPath("traces", "h100-cuda-pinned.trace.xz"), "--check", "--timeline", timeline, "--out", dir);
        // two sg mappings are still live when the capture ends: informational, no evidence of a leak
        Assert.Equal(0, r.ExitCode);
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "replay.json"))).RootElement;
        Assert.Equal(0, report.GetProperty("failingFindings").GetInt64());
        var live = Assert.Single(report.GetProperty("liveAtEnd").EnumerateArray());
        Assert.Equal(2, live.GetProperty("mappings").GetInt64());
        Assert.Equal(0, live.GetProperty("leaked").GetInt64());
        var events = JsonDocument.Parse(File.ReadAllText(timeline)).RootElement.GetProperty("traceEvents");
        Assert.Contains(events.EnumerateArray(), e => e.GetProperty("ph").GetString() == "X");
        string html = File.ReadAllText(Path.Combine(dir, "replay.html"));
        Assert.Contains("<svg", html);
        Assert.Contains("0000:00:06.0", html);
    }

    [Fact]
    public void BinaryInputIsOneLineExit2()
    {
        string dir = CliRunner.TempDir();
        string f = Path.Combine(dir, "trace.dat");
        File.WriteAllBytes(f, [0x17, 0x08, 0x44, (byte)'t', (byte)'r', (byte)'a', (byte)'c', (byte)'i', (byte)'n', (byte)'g', 0, 0, 1, 2, 3]);
        var r = CliRunner.Run("replay", f);
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        // Read as a .dat (by its magic), cut right after it: the offset and what was expected there.
        Assert.Contains("offset 10: trace-cmd file version \"\": expected 6 or 7", r.Stderr);
    }

    [Fact]
    public void MissingFileIsExit2()
    {
        var r = CliRunner.Run("replay", "/nonexistent/x.trace");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("dmalab: trace /nonexistent/x.trace: no such file", r.Stderr.Trim());
    }
}

public class ReplayFidelityCliTests
{
    [Theory]
    [InlineData("qemu-vtd-strict-sample.trace.xz", 991)]
    [InlineData("qemu-smmuv3-strict-sample.trace.xz", 989)]
    [InlineData("qemu-vtd-swiotlb-sample.trace.xz", 950)]
    public void RealCapturesReplayWithEveryDmaAddrEqualToTheKernels(string file, long compared)
    {
        var r = CliRunner.Run("replay", CliRunner.DataPath("traces", file), "--json");
        Assert.Equal(0, r.ExitCode);
        var fid = System.Text.Json.JsonDocument.Parse(r.Stdout).RootElement.GetProperty("fidelity");
        Assert.Equal(compared, fid.GetProperty("compared").GetInt64());
        Assert.Equal(compared, fid.GetProperty("matched").GetInt64());
    }

    [Fact]
    public void No_resync_replays_on_the_models_own_state_and_says_how_often_it_went_on_from_the_kernels()
    {
        static JsonElement Fidelity(params string[] extra) =>
            JsonDocument.Parse(CliRunner.Run(["replay", CliRunner.DataPath("traces", "qemu-vtd-lazy-smp2-sample2.trace.xz"), "--json", .. extra]).Stdout)
                .RootElement.GetProperty("fidelity");
        var resynced = Fidelity();
        var own = Fidelity("--no-resync");
        Assert.Equal(0, own.GetProperty("resynced").GetInt64());
        Assert.True(resynced.GetProperty("resynced").GetInt64() > 0);
        // The model's own answer is what is compared either way: following the kernel only spares later addresses.
        long mismatched = resynced.GetProperty("compared").GetInt64() - resynced.GetProperty("matched").GetInt64();
        Assert.True(resynced.GetProperty("resynced").GetInt64() <= mismatched);
        Assert.True(own.GetProperty("matched").GetInt64() < resynced.GetProperty("matched").GetInt64());
    }

    [Fact]
    public void LazyWhatIfTradesInvalidationsForFlushes()
    {
        var r = CliRunner.Run("replay", CliRunner.DataPath("traces", "qemu-vtd-strict-sample.trace.xz"), "--policy", "lazy", "--json");
        Assert.Equal(0, r.ExitCode);
        var w = System.Text.Json.JsonDocument.Parse(r.Stdout).RootElement.GetProperty("whatIf");
        long strictInv = w.GetProperty("original").GetProperty("invalidations").GetInt64();
        long lazyInv = w.GetProperty("whatIf").GetProperty("invalidations").GetInt64();
        Assert.True(lazyInv < strictInv / 4, $"lazy {lazyInv} vs strict {strictInv}");
        Assert.True(w.GetProperty("whatIf").GetProperty("flushQueueFlushes").GetInt64() > 0);
    }

    [Fact]
    public void WhatIfTableShowsMeasuredFiguresNextToEstimatedOnes()
    {
        var r = CliRunner.Run("replay", CliRunner.DataPath("traces", "qemu-smmuv3-strict-sample.trace.xz"), "--policy", "lazy");
        Assert.Equal(0, r.ExitCode);
        // The as-traced column has no device side (estimated misses, no lookups); the what-if column was run.
        Assert.Matches(@"IOTLB lookups / misses\s*│\s*— / [\d,]+ \(est\.\)\s*│\s*[1-9][\d,]* / [1-9][\d,]*", r.Stdout);
        Assert.Matches(@"device accesses \(faults\)\s*│\s*—\s*│\s*[1-9][\d,]* \(0\)", r.Stdout);
        Assert.Contains("estimated speedup", r.Stdout);
    }

    [Fact]
    public void UnknownPolicyIsUsageError()
    {
        var r = CliRunner.Run("replay", CliRunner.DataPath("traces", "h100-cuda-pinned.trace.xz"), "--policy", "sloppy");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("strict, lazy, passthrough, swiotlb-force", r.Stderr);
    }
}

public class ReplayExplainCliTests
{
    [Fact]
    public void Explain_prints_the_lines_around_and_why_the_call_got_its_address()
    {
        // Line 407 of the SMMUv3 capture: a dma_map_sg whose allocation the preview placed before a hardirq that freed
        // another range of its size class (the hardirq is traced before its first iommu:map line).
        var r = CliRunner.Run("replay", CliRunner.DataPath("traces", "qemu-smmuv3-strict-sample.trace.xz"), "--explain", "407");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(">      407", r.Stdout);
        Assert.Contains("replayed ahead of interrupt line 373", r.Stdout.Replace("\n", " "));
        Assert.Contains("from the tree", r.Stdout);
        Assert.Contains("inferred", r.Stdout);
        Assert.Contains("determined by the trace's order", r.Stdout);
    }

    [Fact]
    public void Explain_with_a_line_that_is_no_line_is_one_line_exit_2()
    {
        var r = CliRunner.Run("replay", CliRunner.DataPath("traces", "qemu-smmuv3-strict-sample.trace.xz"), "--explain", "0");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--explain 0", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }
}
