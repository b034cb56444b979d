using DmaLab.Analysis;
using DmaLab.Platform;
using DmaLab.Workloads;

namespace DmaLab.Tests.Workloads;

public class WorkloadCatalogTests
{
    [Fact]
    public void CatalogHoldsEveryBuiltInWorkloadOnce()
    {
        var names = WorkloadCatalog.Names.ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        foreach (var n in new[] { "zone-pressure", "cma-pressure", "dma-bounce-32bit", "camera-noncoherent", "video-no-kernel-mapping",
                     "dma-force-contiguous-cma", "nvme-queue", "nic-rings", "drm-composite", "camera-isp" })
            Assert.Contains(n, names);
        Assert.Equal(["strict", "lazy", "passthrough"], WorkloadCatalog.Get("nic-rings").Policies);
        Assert.Throws<ArgumentException>(() => WorkloadCatalog.Get("no-such"));
    }

    [Fact]
    public void RunAllLabelsEachPolicy()
    {
        var spec = PlatformLoader.LoadBuiltIn("arm64-ref");
        var a = WorkloadCatalog.RunAll(spec, 3, n => n is "camera-isp" or "camera-noncoherent").ToList();
        Assert.Equal(["camera-noncoherent/correct", "camera-noncoherent/buggy", "camera-isp/strict", "camera-isp/lazy", "camera-isp/passthrough"],
            a.Select(r => $"{r.Name}/{r.Variant}"));
        // the buggy camera is caught, the correct one is clean
        Assert.Contains(a[1].Findings, f => f.Kind == "stale-cpu-read");
        Assert.DoesNotContain(a[0].Findings, f => f.Kind == "stale-cpu-read");
        Assert.DoesNotContain(a.SelectMany(r => r.Findings), f => f.Kind == "dmalab-error");
    }

    [Fact]
    public void ImportedDeviceTreeRunsToTheEnd()
    {
        using var s = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "data", "dtb", "arm64_qcom_msm8916-mtp.dtb"));
        var spec = DtbPlatform.Load(s, "msm8916");
        var results = WorkloadCatalog.RunAll(spec, 1, n => n is "nvme-queue" or "drm-composite" or "camera-isp").ToList();
        Assert.Equal(9, results.Count);
        Assert.DoesNotContain(results.SelectMany(r => r.Findings), f => f.Kind == "dmalab-error");
        Assert.All(results, r => Assert.True(r.Metrics.Count > 0 || r.Notes.Any(n => n.StartsWith("not run")), $"{r.Name}/{r.Variant}: " + string.Join("; ", r.Notes)));
    }

    [Fact]
    public void CompareRunsOneFreshMachinePerPolicy()
    {
        var c = PolicyComparison.Run(PlatformLoader.LoadBuiltIn("arm64-ref"), "camera-isp", ["strict", "lazy", "passthrough", "swiotlb-force"], 9);
        Assert.Equal(["strict", "lazy", "passthrough", "swiotlb-force"], c.Rows.Select(r => r.Policy));
        Assert.True(c.Value("strict", "iotlb-invalidations") > 0);
        Assert.Equal(0, c.Value("strict", "stale-window-max"));
        Assert.True(c.Value("lazy", "stale-window-max") > 0);
        Assert.Equal(0, c.Value("passthrough", "iotlb-lookups"));
        Assert.Equal(1, c.Value("passthrough", "exposure-full-memory"));
        Assert.Contains(c.Metrics, m => m.Name == "throughput" && m.Unit == "GB/s");
        // IOMMU off and swiotlb=force: dma_alloc_* memory never bounces, only streaming mappings do
        Assert.Equal(0, c.Value("swiotlb-force", "bounce-bytes"));
        Assert.Equal(1, c.Value("swiotlb-force", "exposure-full-memory"));
        Assert.Throws<ArgumentException>(() => PolicyComparison.Run(PlatformLoader.LoadBuiltIn("arm64-ref"), "camera-isp", ["sloppy"], 9));
    }
}
