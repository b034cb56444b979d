using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Cli.Report;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>What-if re-runs of the real captures through <see cref="ReplayRunner"/>: the original keeps full fidelity
/// while the alternative's cost follows the policy's rules.</summary>
public class ReplayWhatIfTests
{
    static ReplayReport Run(string name, ReplayRunOptions? o = null)
    {
        using var s = File.OpenRead(TraceSamples.PathOf(name));
        return ReplayRunner.Run(s, name, o);
    }

    [Fact]
    public void Runner_without_what_if_reports_model_cost_and_full_fidelity()
    {
        var r = Run(TraceSamples.VtdStrict);
        Assert.Equal(r.Fidelity.Compared, r.Fidelity.Matched);
        Assert.Null(r.WhatIf);
        var m = Assert.IsType<ReplayModelStats>(r.Model);
        Assert.Equal("intel-vtd", m.Iommu);
        // Strict: one invalidation per unmap and free of a translated mapping (every device is translated here).
        Assert.Equal(m.Unmaps + r.Events.GetValueOrDefault("dma_free"), m.Invalidations);
        Assert.True(m.Invalidations > 0 && m.IovaAllocs > 0 && m.EstimatedNs > 0);
        Assert.Equal(0UL, m.BounceBytes);
        Assert.Equal((2, 21), (r.ReorderedCalls, r.FloatedCalls));
    }

    [Fact]
    public void Lazy_defers_invalidations_into_few_flushes()
    {
        var r = Run(TraceSamples.VtdStrict, new ReplayRunOptions { Policy = ReplayPolicy.Lazy });
        Assert.Equal(r.Fidelity.Compared, r.Fidelity.Matched); // the original is untouched by the what-if
        var w = Assert.IsType<ReplayWhatIfReport>(r.WhatIf);
        Assert.Equal("lazy", w.Policy);
        Assert.True(w.WhatIf.FlushQueueFlushes > 0);
        Assert.Equal(w.WhatIf.FlushQueueFlushes, w.WhatIf.Invalidations);
        Assert.True(w.WhatIf.Invalidations * 10 < w.Original.Invalidations,
            $"lazy {w.WhatIf.Invalidations} vs strict {w.Original.Invalidations}");
        Assert.True(w.EstimatedSpeedup > 1);
    }

    [Fact]
    public void Passthrough_has_no_iommu_work_and_swiotlb_force_bounces_every_mapping()
    {
        var p = Run(TraceSamples.Smmuv3Strict, new ReplayRunOptions { Policy = ReplayPolicy.Passthrough }).WhatIf!;
        Assert.Equal(0, p.WhatIf.IovaAllocs);
        Assert.Equal(0, p.WhatIf.Invalidations);
        Assert.Equal(0, p.WhatIf.IotlbMisses);
        Assert.True(p.Original.IotlbMisses > 0);

        var s = Run(TraceSamples.VtdStrict, new ReplayRunOptions { Policy = ReplayPolicy.SwiotlbForce }).WhatIf!;
        Assert.True(s.WhatIf.BounceBytes > 0);
        // Every mapped single and every sg entry bounced (an sg call counts once in Maps, once per entry in Bounces).
        Assert.True(s.WhatIf.Bounces >= s.WhatIf.Maps - s.WhatIf.MapFailures);
        Assert.Equal(0, s.WhatIf.MapFailures);
        Assert.Equal(0UL, s.Original.BounceBytes);
        Assert.Equal(0, s.WhatIf.IovaAllocs);
    }

    [Fact]
    public void Iommu_model_puts_a_dma_direct_trace_behind_an_iommu()
    {
        var r = Run(TraceSamples.H100, new ReplayRunOptions { IommuModel = "arm-smmu-v3" });
        Assert.Equal(r.Fidelity.Compared, r.Fidelity.Matched);
        var w = r.WhatIf!;
        Assert.Equal("arm-smmu-v3", w.Iommu);
        Assert.Equal(1, w.WhatIf.DevicePaths["iommu-dma"]);
        Assert.True(w.WhatIf.IovaAllocs > 500);
        Assert.Equal("none", w.Original.Iommu);
        Assert.Throws<ArgumentException>(() => Run(TraceSamples.H100, new ReplayRunOptions { IommuModel = "nonsense" }));
    }

    [Fact]
    public void Report_with_what_if_serialises_and_builds_an_html_section()
    {
        var r = Run(TraceSamples.VtdSwiotlb, new ReplayRunOptions { Policy = ReplayPolicy.Strict, IommuModel = "intel-vtd" });
        string json = ReplayReportJson.Serialize(r);
        Assert.Contains("\"whatIf\"", json);
        Assert.Contains("\"iovaRcacheHitRate\"", json);
        Assert.Contains("\"bounceBytes\"", json);
        string html = ReplayHtml.Render(r);
        Assert.Contains("As traced and what-if side by side", html);
        Assert.Contains("What-if: strict on intel-vtd", html);
        Assert.Contains("class=\"n diff\"", html);
    }
}

/// <summary>Platform facts from the text beside a capture, and a replay that uses them.</summary>
public class ReplayPlatformTextTests
{
    [Fact]
    public void Pci_windows_of_the_vtd_capture_and_a_replay_with_them_keeps_full_fidelity()
    {
        using var t = File.OpenText(TraceSamples.PathOf("qemu-vtd-strict-sample.platform.txt"));
        var w = DmaLab.Platform.KernelLog.KernelLogReader.Read(t, "platform.txt").PciWindows;
        Assert.Equal(4, w.Count);
        Assert.Contains((0xc000_0000UL, 0xfebf_ffffUL, 0UL), w);
        using var s = File.OpenRead(TraceSamples.PathOf(TraceSamples.VtdStrict));
        var r = ReplayRunner.Run(s, TraceSamples.VtdStrict, new ReplayRunOptions { PciWindows = w });
        Assert.Equal(r.Fidelity.Compared, r.Fidelity.Matched);
    }
}
