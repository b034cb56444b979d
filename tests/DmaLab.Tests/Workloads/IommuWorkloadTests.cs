using DmaLab.Analysis;
using DmaLab.Platform;
using DmaLab.Workloads;

namespace DmaLab.Tests.Workloads;

/// <summary>The streaming IOMMU workloads on arm64-ref under strict, lazy and passthrough.</summary>
public class IommuWorkloadTests
{
    static readonly PlatformSpec Arm64Ref = PlatformLoader.LoadBuiltIn("arm64-ref");

    internal static double M(WorkloadResult r, string name) => r.Metrics.Single(m => m.Name == name).Value;

    static WorkloadResult Run(string workload, string policy, ulong seed = 5)
    {
        var ctx = WorkloadBoot.Boot(Arm64Ref, policy, seed);
        return workload switch
        {
            NvmeQueueWorkload.Name => NvmeQueueWorkload.Run(ctx, seed, ios: 48),
            NicRingsWorkload.Name => NicRingsWorkload.Run(ctx, seed, packets: 1024),
            CameraIspWorkload.Name => CameraIspWorkload.Run(ctx, seed, frames: 6),
            _ => throw new ArgumentException(workload),
        };
    }

    public static TheoryData<string, string> All()
    {
        var d = new TheoryData<string, string>();
        foreach (var w in new[] { NvmeQueueWorkload.Name, NicRingsWorkload.Name, CameraIspWorkload.Name })
            foreach (var p in new[] { "strict", "lazy", "passthrough" }) d.Add(w, p);
        return d;
    }

    [Theory]
    [MemberData(nameof(All))]
    public void RunsCleanlyAndDeterministically(string workload, string policy)
    {
        var a = Run(workload, policy);
        var b = Run(workload, policy);
        Assert.True(a.Notes.All(n => !n.StartsWith("not run")), string.Join("\n", a.Notes));
        Assert.Equal(a.Metrics, b.Metrics);
        Assert.Equal(0, M(a, "transfer-errors"));
        Assert.Equal(0, M(a, "iommu-faults"));
        Assert.True(M(a, "bytes-moved") > 0);
        Assert.True(M(a, "throughput") > 0);
        Assert.Empty(a.Findings.Where(f => f.Kind != "iommu-fault").Select(f => $"{f.Kind}: {f.Message}"));
        if (policy == "passthrough")
        {
            Assert.Equal(0, M(a, "iotlb-lookups"));
            Assert.Equal(0, M(a, "iotlb-misses"));
            Assert.Equal(0, M(a, "iotlb-invalidations"));
            Assert.Equal(1, M(a, "exposure-full-memory"));
            Assert.True(M(a, "exposure-outside-peak") > 1UL << 32);
        }
        else
        {
            Assert.True(M(a, "iotlb-misses") > 0);
            Assert.True(M(a, "iotlb-invalidations") > 0);
            Assert.Equal(0, M(a, "exposure-full-memory"));
            Assert.True(M(a, "iova-rcache-hits") + M(a, "iova-rcache-misses") > 0);
        }
        if (policy == "lazy") Assert.True(M(a, "stale-window-max") > 0);
        else Assert.Equal(0, M(a, "stale-window-max"));
        // The window is open under lazy, but these drivers never let the device touch a buffer after its unmap:
        // the translation units saw no stale hit.
        Assert.Equal(0, M(a, "stale-hits"));
        Assert.Equal(0, M(a, "stale-hit-bytes"));
    }

    [Fact]
    public void SwiotlbForceBouncesEveryStreamingByteAndCapsNvmeIoAtTheSwiotlbMaxMapping()
    {
        var ctx = WorkloadBoot.Boot(Arm64Ref, "swiotlb-force", 2);
        var nic = NicRingsWorkload.Run(ctx, 2, packets: 256);
        Assert.Equal(0, M(nic, "transfer-errors"));
        Assert.Equal(0, M(nic, "map-failures"));
        Assert.True(M(nic, "bounce-bytes") >= M(nic, "bytes-moved"));
        Assert.Equal(0, M(nic, "iotlb-lookups"));
        var nvme = NvmeQueueWorkload.Run(WorkloadBoot.Boot(Arm64Ref, "swiotlb-force", 2), 2, ios: 16);
        // swiotlb_max_mapping_size(): IO_TLB_SEGSIZE (128) slots of 2 KiB less the min_align_mask rounded up (4 KiB)
        Assert.Equal(256 * 1024 - 4096, M(nvme, "max-io-size"));
        Assert.Equal(0, M(nvme, "map-failures"));
    }

    [Fact]
    public void NvmeKeepsTheOffsetWithinTheControllerPage()
    {
        var r = Run(NvmeQueueWorkload.Name, "strict");
        Assert.Equal(0, M(r, "min-align-violations"));
        Assert.Equal(0, M(r, "data-errors"));
        Assert.Equal(48, M(r, "ios"));
    }

    [Fact]
    public void CameraReadsEveryFrameAndNoStaleStatistics()
    {
        foreach (var p in new[] { "strict", "passthrough" })
        {
            var r = Run(CameraIspWorkload.Name, p);
            Assert.Equal(0, M(r, "user-frame-errors"));
            Assert.Equal(0, M(r, "stale-stats-reads"));
            Assert.Equal(4, M(r, "user-mapped-buffers"));
            Assert.True(M(r, "cache-invalidate-lines") > 0);
        }
    }
}
