using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>
/// Golden replays of the real captures. Live-at-end and unmatched counts were cross-checked by hand against
/// shared/tools/trace-facts.py (singles by device + dma_addr, sg lists by device + first phys): h100 2 live (2 sg),
/// the three QEMU captures 493 live each, no unmatched unmaps anywhere.
/// </summary>
public class TraceReplaySampleTests
{
    static ReplayReport Replay(string name, IReplayModel? model = null)
    {
        using var reader = TraceSamples.Open(name);
        return TraceReplayer.Replay(reader, new ReplayOptions { Model = model ?? new IdentityReplayModel(), Input = name });
    }

    [Fact]
    public void H100_dma_direct_replays_with_full_identity_fidelity()
    {
        var r = Replay(TraceSamples.H100);
        Assert.Equal(1157, r.Lines);
        Assert.Equal(0, r.SkippedLines);
        Assert.Equal(554, r.Events["dma_map_phys"]);
        Assert.Equal(554, r.Events["dma_unmap_phys"]);
        Assert.Equal(21, r.Events["dma_map_sg"]);
        Assert.Equal(19, r.Events["dma_unmap_sg"]);
        Assert.Equal(9, r.Events["tracing_mark_write"]);

        var dev = Assert.Single(r.Devices);
        Assert.Equal("0000:00:06.0", dev.Name);
        Assert.Equal(575, dev.Maps);
        Assert.Equal(573, dev.Unmaps);
        Assert.Equal(21, dev.SgMaps);
        Assert.Equal(0, dev.UnmatchedUnmaps);
        Assert.Equal(0, r.UnmatchedUnmaps);
        Assert.Equal(2, r.LiveMappingsAtEnd);
        Assert.Equal(2, dev.LiveMappingsAtEnd);
        Assert.DoesNotContain(r.Findings, f => f.Kind == "unmap-of-unmapped");

        Assert.Equal(575, r.Fidelity.Compared);
        Assert.Equal(575, r.Fidelity.Matched);
        Assert.Empty(r.Fidelity.FirstMismatches);
        Assert.Equal(1.0, r.Fidelity.MatchRate);

        Assert.Equal("dma-direct", r.Platform.DmaOps);
        Assert.False(r.Platform.Iommu);
        Assert.False(r.Platform.Swiotlb);
        Assert.Equal("pci", Assert.Single(r.Platform.Devices).Bus);
        // Maps before the first marker land in "(start)"; then one phase per marker.
        Assert.Equal(10, r.Phases.Count);
        Assert.Equal("(start)", r.Phases[0].Name);
        Assert.Equal("pinned 4096", r.Phases[1].Name);
        Assert.Equal(575, r.Phases.Sum(p => p.Maps));
        Assert.Equal(573, r.Phases.Sum(p => p.Unmaps));
    }

    [Fact]
    public void VtdStrict_is_inferred_as_an_x86_iommu_with_a_domain_per_device()
    {
        var r = Replay(TraceSamples.VtdStrict);
        Assert.Equal(4468, r.Lines);
        Assert.Equal(840, r.Events["dma_map_page"]);
        Assert.Equal(2483, r.Events["map"]);
        Assert.Equal(493, r.LiveMappingsAtEnd);
        Assert.Equal(0, r.UnmatchedUnmaps);
        Assert.True(r.Platform.Iommu);
        // VT-d, AMD-Vi and virtio-iommu look alike in these events: the trace alone names no family it cannot prove.
        Assert.Equal("x86-unknown", r.Platform.IommuKind);
        Assert.Equal("iommu-dma", r.Platform.DmaOps);
        Assert.Equal("per-device", r.Platform.DomainLayout);
        Assert.Equal(0, r.Platform.UnpairedIommuMapCount);
        Assert.All(r.Platform.Devices, d => Assert.Equal("iommu-dma", d.DmaOps));
        Assert.Equal(new[] { "0000:00:04.0", "0000:00:05.0", "0000:00:06.0" }, r.Devices.Select(d => d.Name).Order());
        // Every iommu:map belongs to a dma:* call of some device.
        Assert.Equal(2483, r.Devices.Sum(d => d.IommuMaps ?? 0));
        // The identity model cannot reproduce IOVAs: reported honestly, allocations not comparable.
        Assert.Equal(979, r.Fidelity.Compared);
        Assert.Equal(0, r.Fidelity.Matched);
        Assert.Equal(12, r.Fidelity.NotComparable);
        Assert.Equal(new FidelityMismatch(20, "0000:00:04.0", "dma_map_page", "0xffffd000", "0x2743000"), r.Fidelity.FirstMismatches[0]);
    }

    [Fact]
    public void VtdSwiotlb_is_inferred_as_forced_swiotlb()
    {
        var r = Replay(TraceSamples.VtdSwiotlb);
        Assert.Equal(3888, r.Lines);
        Assert.Equal(493, r.LiveMappingsAtEnd);
        Assert.Equal(0, r.UnmatchedUnmaps);
        Assert.False(r.Platform.Iommu);
        Assert.True(r.Platform.Swiotlb);
        Assert.True(r.Platform.SwiotlbForced);
        Assert.Equal("swiotlb", r.Platform.DmaOps);
        Assert.Equal(0x79a00000UL, r.Platform.SwiotlbSlotsLow);
        Assert.All(r.Platform.Devices, d => Assert.Equal(64, d.MaskBits));
        Assert.Equal(950, r.Devices.Sum(d => d.BouncedMaps ?? 0));
    }

    [Fact]
    public void Smmuv3_is_inferred_with_msi_doorbells_and_an_untranslated_smmu()
    {
        var r = Replay(TraceSamples.Smmuv3Strict);
        Assert.Equal(4409, r.Lines);
        Assert.Equal(493, r.LiveMappingsAtEnd);
        Assert.Equal(0, r.UnmatchedUnmaps);
        Assert.True(r.Platform.Iommu);
        Assert.Equal("arm-smmu-v3", r.Platform.IommuKind);
        Assert.Equal("per-device", r.Platform.DomainLayout);
        // One MSI doorbell page (IOVA 0xfffff000 -> GIC ITS 0x08090000) per DMA domain, with no dma:* event.
        Assert.Equal(3, r.Platform.UnpairedIommuMapCount);
        Assert.All(r.Platform.UnpairedIommuMaps, m => { Assert.Equal(0xfffff000UL, m.Iova); Assert.Equal(0x08090000UL, m.Paddr); });
        var smmu = Assert.Single(r.Platform.Devices, d => d.Name == "9050000.smmuv3");
        Assert.Equal("platform", smmu.Bus);
        Assert.Equal("dma-direct", smmu.DmaOps);
        Assert.Equal(1, r.Platform.Devices.Single(d => d.Name == "0000:00:04.0").IommuGroup);
    }
}
