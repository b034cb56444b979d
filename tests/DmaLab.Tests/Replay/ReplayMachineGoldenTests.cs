using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>
/// Golden replays through <see cref="MachineReplayModel"/> with the platform inferred from the trace alone: every
/// dma_addr the model chooses (dma-direct, swiotlb slots, IOVAs incl. dma_alloc, dma_map_sg and the SMMU's MSI
/// doorbell page) must be the kernel's.
/// </summary>
public class ReplayMachineGoldenTests
{
    static (ReplayReport Report, MachineReplayModel Model, (long Reordered, long Floated) Moves) Replay(string name)
    {
        using var reader = TraceSamples.Open(name);
        var model = new MachineReplayModel();
        var replayer = new TraceReplayer(new ReplayOptions { Model = model, Input = name });
        bool first = true;
        while (reader.Read())
        {
            if (first) { model.Cpus = reader.Stats.Cpus; first = false; }
            replayer.Consume(reader.Current);
        }
        var report = replayer.Finish(reader.Stats);
        return (report, model, (replayer.ReorderedCalls, replayer.FloatedCalls));
    }

    static void AssertAllMatched(ReplayReport r)
    {
        var f = r.Fidelity;
        Assert.True(f.Matched == f.Compared,
            $"{f.Matched}/{f.Compared} matched; first mismatches:\n" + string.Join("\n", f.FirstMismatches));
        Assert.Equal(f.ComparedSgEntries, f.MatchedSgEntries);
        Assert.Equal(f.ComparedLayerMaps, f.MatchedLayerMaps);
    }

    [Fact]
    public void H100_dma_direct_every_address()
    {
        var (r, m, _) = Replay(TraceSamples.H100);
        AssertAllMatched(r);
        Assert.Equal(575, r.Fidelity.Compared);
        Assert.Equal("dma-direct", Assert.Single(m.Stats().DevicePaths).Key);
    }

    [Fact]
    public void VtdSwiotlb_every_bounce_slot()
    {
        var (r, m, _) = Replay(TraceSamples.VtdSwiotlb);
        AssertAllMatched(r);
        Assert.True(r.Fidelity.Compared > 500);
        Assert.NotNull(m.Swiotlb);
        Assert.Equal(0x79a0_0000UL, m.Swiotlb!.Start.Value);
        Assert.True(m.Stats().BounceBytes > 0);
    }

    [Fact]
    public void VtdStrict_every_iova_including_alloc_and_sg()
    {
        var (r, m, reordered) = Replay(TraceSamples.VtdStrict);
        AssertAllMatched(r);
        Assert.Equal(840 + 139 + 12, r.Fidelity.Compared);
        // Calls moved ahead of interrupts traced after their first map line, and calls whose allocation the model's
        // preview placed before an interrupt traced ahead of them (only that order gives their address).
        Assert.Equal((2, 21), reordered);
        Assert.Equal(32, r.Fidelity.Inferred);
        var s = m.Stats();
        Assert.Equal("intel-vtd", s.Iommu);
        Assert.Equal(3, s.DevicePaths["iommu-dma"]);
    }

    [Fact]
    public void Smmuv3Strict_every_iova_and_the_msi_doorbell_pages()
    {
        var (r, m, reordered) = Replay(TraceSamples.Smmuv3Strict);
        AssertAllMatched(r);
        Assert.Equal(989, r.Fidelity.Compared);
        Assert.Equal(3, r.Fidelity.ComparedLayerMaps);
        Assert.Equal((8, 37), reordered);
        Assert.Equal("arm-smmu-v3", m.Stats().Iommu);
    }
}
