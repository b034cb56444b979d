using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Workloads;

namespace DmaLab.Tests.Dma;

public class DmaWorkloadTests
{
    const ulong MiB = DmaTestMachine.MiB, GiB = DmaTestMachine.GiB;

    [Fact]
    public void Bounce32_round_trips_every_buffer_through_swiotlb()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var dev = m.Device("usb", 32, false);
        dev.DmaIoTlbMem = new SwiotlbPool(m.Mem.Memory, new MemRange(new PhysAddr(2 * GiB + 128 * MiB), 4 * MiB), 1);
        var bufs = Enumerable.Range(0, 4).Select(_ => m.Pages(0)).ToList();
        Assert.All(bufs, b => Assert.True(b.Value >= 4 * GiB));
        var r = DmaBounce32Workload.Run(m.Api, dev, m.Cache, bufs, seed: 1, rounds: 32);
        double Get(string n) => r.Metrics.Single(x => x.Name == n).Value;
        Assert.Equal(32, Get("bounced-mappings"));
        Assert.Equal(0, Get("data-mismatches"));
        Assert.True(Get("swiotlb-bounced-bytes-from-device") > 0);
        Assert.Empty(r.Findings);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Camera_correct_is_silent_and_buggy_is_flagged(bool buggy)
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var isp = m.Device("isp", 32, false);
        var frames = new[] { m.Pages(2, Gfp.Dma), m.Pages(2, Gfp.Dma) };
        var r = NoncoherentCameraWorkload.Run(m.Api, isp, m.Cache, frames, 16384, seed: 3, buggy);
        double stale = r.Metrics.Single(x => x.Name == "frames-with-stale-data").Value;
        if (buggy)
        {
            Assert.Equal(8, stale);
            Assert.Contains(r.Findings, f => f.Kind == "stale-cpu-read" && f.Device == "isp");
        }
        else
        {
            Assert.Equal(0, stale);
            Assert.Empty(r.Findings);
        }
    }

    [Fact]
    public void Video_pool_without_kernel_mapping_saves_vmalloc()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64(vmalloc: 8 * MiB));
        var vpu = m.Device("vpu", 32, false);
        var r = NoKernelMappingVideoWorkload.Run(m.Api, vpu, buffers: 6, bufferSize: 2 * MiB);
        double Get(string n) => r.Metrics.Single(x => x.Name == n).Value;
        Assert.True(Get("kernel-mapping-buffers-allocated") < 6);          // 8 MiB vmalloc area runs out
        Assert.Equal(6, Get("no-kernel-mapping-buffers-allocated"));
        Assert.Equal(6 * (2 * MiB + 4096), Get("vmalloc-saved"));
        Assert.Contains(r.Findings, f => f.Kind == "cpu-access-no-kernel-mapping");
    }

    [Fact]
    public void Force_contiguous_buffers_come_from_cma()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var dev = m.Device("gpu", 64, true);
        var r = ForceContiguousCmaWorkload.Run(m.Api, m.Ops, dev, 4 * MiB, 3);
        double Get(string n) => r.Metrics.Single(x => x.Name == n).Value;
        Assert.Equal(3, Get("buffers-allocated"));
        Assert.Equal(3, Get("cma-allocations"));
        Assert.Equal(0, Get("buffers-outside-cma"));
        Assert.Empty(r.Findings);
    }
}
