using DmaLab.Analysis;
using DmaLab.Platform;
using DmaLab.Workloads;

namespace DmaLab.Tests.Workloads;

public class DrmCompositeWorkloadTests
{
    static double M(WorkloadResult r, string name) => r.Metrics.Single(m => m.Name == name).Value;

    [Theory]
    [InlineData("strict")]
    [InlineData("lazy")]
    [InlineData("passthrough")]
    public void FaultsAppearExactlyForTheCrossProcessProbes(string policy)
    {
        var ctx = WorkloadBoot.Boot(PlatformLoader.LoadBuiltIn("arm64-ref"), policy, 7);
        var r = DrmCompositeWorkload.Run(ctx, 7);
        Assert.True(!r.Notes.Any(n => n.StartsWith("not run")), string.Join("\n", r.Notes));
        Assert.Equal(3, M(r, "processes"));
        Assert.Equal(6, M(r, "isolation-probes"));
        Assert.Equal(6, M(r, "isolation-probe-faults"));
        Assert.Equal(0, M(r, "isolation-leaks"));
        Assert.Equal(0, M(r, "faults-outside-probes"));
        Assert.Equal(6, M(r, "iommu-faults"));
        Assert.Equal(6, M(r, "fault-handler-calls"));
        Assert.Equal(6, r.Expected.Count(f => f.Kind == "iommu-fault"));
        Assert.DoesNotContain(r.Findings, f => f.Kind == "iommu-fault");
        Assert.DoesNotContain(r.Findings, f => f.Kind == "isolation-breach");
        Assert.Equal(0, M(r, "attach-failures"));
        Assert.True(M(r, "switch-time-total") > 0);
        Assert.True(M(r, "bytes-moved") > 0);
        // buffer objects are whole pages: nothing outside them is reachable
        Assert.Equal(0, M(r, "exposure-outside-peak"));
        // the engines are back in their default domains and the process domains are gone
        var core = ctx.Iommu!;
        foreach (var d in ctx.Devices.Where(d => d.Spec.Kind is "gpu-2d" or "gpu-3d"))
            Assert.Same(core.GetDefaultDomain(d), core.GetDomain(d));
    }

    [Fact]
    public void SameSeedSameMetrics()
    {
        var spec = PlatformLoader.LoadBuiltIn("arm64-ref");
        var a = DrmCompositeWorkload.Run(WorkloadBoot.Boot(spec, "strict", 11), 11);
        var b = DrmCompositeWorkload.Run(WorkloadBoot.Boot(spec, "strict", 11), 11);
        Assert.Equal(a.Metrics, b.Metrics);
    }
}
