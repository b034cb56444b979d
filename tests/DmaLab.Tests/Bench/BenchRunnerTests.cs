using System.Text.Json;
using DmaLab.Analysis.Bench;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Bench;

/// <summary>
/// BenchRunner (dmalab bench) with tiny op counts: every scenario runs, every op really reached the model, and the hot
/// paths allocate nothing. Timings are never asserted — they are host time on a shared machine.
/// </summary>
public class BenchRunnerTests
{
    const int Ops = 3000;

    static readonly string[] Expected =
    [
        "dma-direct-map-unmap-4k", "swiotlb-map-unmap-4k", "iommu-dma-strict-map-unmap-4k", "iommu-dma-lazy-map-unmap-4k",
        "iova-alloc-free-fast", "iommu-map-unmap-4k-lpae", "iotlb-translate-hit",
    ];

    static BenchResult RunTiny(int threads, string? filter = null, int warmupMs = 0) =>
        BenchRunner.Run(new BenchOptions { Threads = threads, Ops = Ops, Seed = 7, Filter = filter, WarmupMs = warmupMs });

    [Fact]
    public void TwoThreadsRunEveryScenarioEveryOpWithoutAllocating()
    {
        // The runner's real warm-up (until tiered compilation settles), as `dmalab bench` does: with only the fixed
        // first batch, a method promoted mid-measurement on a loaded machine could be charged to the hot path.
        var r = RunTiny(2, warmupMs: 1);
        Assert.Equal(2, r.Threads);
        Assert.Equal(Ops, r.OpsPerThread);
        Assert.Equal(Expected, r.Results.Select(e => e.Name));
        Assert.Equal(Expected, BenchRunner.Names);
        foreach (var e in r.Results)
        {
            Assert.Equal(2L * Ops, e.TotalOps);
            // The runner saw each op succeed (identity address, a pool slot, a full unmap, a hit at the right address).
            Assert.True(e.Completed == e.TotalOps, $"{e.Name}: {e.Completed} of {e.TotalOps} ops completed");
            // The model's own counter advanced by exactly one per op where the model keeps one.
            if (e.Name != "dma-direct-map-unmap-4k")
                Assert.True(e.ModelCount == e.TotalOps, $"{e.Name}: model counted {e.ModelCount}, expected {e.TotalOps}");
            else
                Assert.Equal(-1, e.ModelCount);
            // Hot paths are allocation-free once warm: exactly zero bytes, all threads together.
            Assert.True(e.AllocatedBytesPerOp == 0, $"{e.Name}: {e.AllocatedBytesPerOp} bytes allocated per op");
            Assert.True(e.NsPerOp > 0 && e.OpsPerSec > 0, $"{e.Name}: no time measured");
            Assert.False(string.IsNullOrEmpty(e.Description));
        }
        Assert.Contains("logical processors", r.Machine);
        Assert.Contains("single-threaded per machine", r.Note);
    }

    [Fact]
    public void FilterSelectsBySubstringOrGlob()
    {
        Assert.Equal(["iommu-dma-strict-map-unmap-4k", "iommu-dma-lazy-map-unmap-4k"],
            RunTiny(1, "iommu-dma-*").Results.Select(e => e.Name));
        Assert.Equal(["swiotlb-map-unmap-4k", "iotlb-translate-hit"],
            RunTiny(1, "SWIOTLB, *-hit").Results.Select(e => e.Name));
        var ex = Assert.Throws<ArgumentException>(() => RunTiny(1, "no-such-bench"));
        Assert.Contains("dma-direct-map-unmap-4k", ex.Message);
    }

    [Fact]
    public void BadOptionsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BenchRunner.Run(new BenchOptions { Threads = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => BenchRunner.Run(new BenchOptions { Ops = 0 }));
    }

    [Fact]
    public void JsonHasTheDmalabBenchContract()
    {
        var r = RunTiny(1, "iova-alloc-free-fast");
        using var doc = JsonDocument.Parse(BenchResultJson.ToJson(r));
        var root = doc.RootElement;
        Assert.Equal(r.Machine, root.GetProperty("machine").GetString());
        Assert.Equal(1, root.GetProperty("threads").GetInt32());
        var e = Assert.Single(root.GetProperty("results").EnumerateArray().ToList());
        Assert.Equal("iova-alloc-free-fast", e.GetProperty("name").GetString());
        Assert.True(e.GetProperty("nsPerOp").GetDouble() > 0);
        Assert.True(e.GetProperty("opsPerSec").GetDouble() > 0);
        Assert.Equal(0, e.GetProperty("allocatedBytesPerOp").GetDouble());
        Assert.Equal(Ops, e.GetProperty("modelCount").GetInt64());
    }
}
