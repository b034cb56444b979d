using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>Streaming replay of a generated trace (text produced on the fly, never materialised) runs in bounded
/// memory: the marginal allocation per extra event is a few bytes at most and the live state stays bounded.</summary>
public class TraceReplayMemoryTests
{
    static (long Allocated, ReplayReport Report, SyntheticDmaTrace Gen) Run(long events)
    {
        var gen = new SyntheticDmaTrace(seed: 42, events, devices: 2, maxLive: 512);
        long before = GC.GetAllocatedBytesForCurrentThread();
        using var reader = new FtraceReader(gen.OpenText(), "synthetic");
        var replayer = new TraceReplayer(new ReplayOptions { Model = new IdentityReplayModel() });
        while (reader.Read()) replayer.Consume(reader.Current);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var report = replayer.Finish(reader.Stats);
        return (allocated, report, gen);
    }

    [Fact]
    public void Two_hundred_thousand_events_replay_in_bounded_memory()
    {
        var (small, _, _) = Run(100_000);
        var (large, report, gen) = Run(200_000);
        // 100k more events may not cost more than 8 bytes each (the state is bounded by the 2 x 512 live mappings).
        Assert.True(large - small < 800_000, $"allocated {small} bytes for 100k events, {large} for 200k");
        Assert.Equal(200_000, report.Lines);
        Assert.Equal(0, report.SkippedLines);
        Assert.Equal(gen.Live, report.LiveMappingsAtEnd);
        Assert.Equal(gen.Maps, report.Maps);
        Assert.Equal(0, report.UnmatchedUnmaps);
        Assert.Equal(report.Fidelity.Compared, report.Fidelity.Matched);
        Assert.Equal("dma-direct", report.Platform.DmaOps);
        Assert.All(report.Devices, d => Assert.True(d.LiveSeries.Count <= 513));
    }
}
