using DmaLab.Dma;
using DmaLab.Platform;
using DmaLab.Workloads;

namespace DmaLab.Tests.Dma;

public class DmaSystemTests
{
    [Fact]
    public void Arm64_ref_boots_swiotlb_below_4g_and_runs_every_dma_workload()
    {
        var sys = DmaSystem.Boot(PlatformLoader.LoadBuiltIn("arm64-ref"));
        Assert.NotNull(sys.Swiotlb);
        Assert.True(sys.Swiotlb!.End.Value <= 1UL << 32);
        Assert.Contains(sys.BootMessages, m => m.StartsWith("DMA: preallocated 1024 KiB GFP_KERNEL pool"));
        Assert.NotNull(sys.Device("fd400000.isp")!.DmaState.CmaArea);
        var results = DmaWorkloads.RunAll(sys, seed: 42);
        Assert.Equal(5, results.Count);
        var bounce = results.Single(r => r.Name == DmaBounce32Workload.Name);
        Assert.True(bounce.Metrics.Single(m => m.Name == "bounced-mappings").Value > 0);
        Assert.Empty(results.Single(r => r.Name == NoncoherentCameraWorkload.Name && r.Variant == "correct").Findings);
        Assert.Contains(results.Single(r => r.Variant == "buggy").Findings, f => f.Kind == "stale-cpu-read");
        var cma = results.Single(r => r.Name == ForceContiguousCmaWorkload.Name);
        Assert.Equal(4, cma.Metrics.Single(m => m.Name == "buffers-allocated").Value);
    }
}
