using DmaLab.Platform;
using DmaLab.Workloads;

namespace DmaLab.Tests.Workloads;

/// <summary>FORCE_CONTIGUOUS behind the SMMU: one CMA block mapped with 2 MiB blocks either way; the page path gets
/// blocks too while the buddy allocator has high orders, and 4 KiB pages (an IOTLB miss per page) once it is
/// fragmented.</summary>
public class IommuForceContiguousWorkloadTests
{
    [Fact]
    public void Contiguous_buffers_keep_block_mappings_and_few_iotlb_misses_when_memory_is_fragmented()
    {
        var runs = WorkloadCatalog.RunAll(PlatformLoader.LoadBuiltIn("arm64-ref"), 1, [IommuForceContiguousWorkload.Name])
            .ToDictionary(w => w.Variant);
        double M(string v, string m) => runs[v].Metrics.Single(x => x.Name == m).Value;
        Assert.Equal(["pages", "force-contiguous", "pages-fragmented", "force-contiguous-fragmented"], runs.Keys);
        // 4 frames of 8 MiB: 16 blocks of 2 MiB, one IOTLB entry and one miss each
        foreach (var v in new[] { "pages", "force-contiguous", "force-contiguous-fragmented" })
        {
            Assert.Equal(16, M(v, "block-mappings"));
            Assert.Equal(16, M(v, "iotlb-misses"));
        }
        Assert.Equal(0, M("pages-fragmented", "block-mappings"));
        Assert.Equal(4 * 8 * 256, M("pages-fragmented", "page-mappings-4k"));
        Assert.True(M("pages-fragmented", "iotlb-misses") >= 100 * M("force-contiguous-fragmented", "iotlb-misses"));
        Assert.All(runs.Values, w => Assert.Empty(w.Findings));
        Assert.All(runs.Values, w => Assert.Equal(0, w.Metrics.Single(x => x.Name == "scan-faults").Value));
    }
}
