using DmaLab.Analysis;
using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Iommu.Drivers;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.DmaIommu;

/// <summary>
/// iommu_dma_init_options() (drivers/iommu/dma-iommu.c): a device whose IOMMU shadows its flushes
/// (dev->iommu->shadow_on_flush, set by s390_iommu_probe_device() for tlb_refresh functions) gets one shared flush
/// queue of IOVA_SINGLE_FQ_SIZE entries and IOVA_SINGLE_FQ_TIMEOUT; every other lazy domain per-CPU queues. Run on
/// the built-in s390-zpci platform through the DMA API, counting the driver's RPCITs.
/// </summary>
public class ShadowOnFlushTests
{
    const string Nvme = "0001:00:00.0", Nic = "0002:00:00.0";

    static Machine Boot(IommuPolicy policy = IommuPolicy.Platform, Action<PlatformSpec>? edit = null)
    {
        var spec = PlatformLoader.LoadBuiltIn("s390-zpci");
        edit?.Invoke(spec);
        return Machine.Boot(spec, new MachineOptions { Policy = policy });
    }

    static S390Iommu Driver(Machine m, string dev) => (S390Iommu)m.Iommu.Core.GetDevIommu(m.Device(dev))!.Instance.Ops;

    [Fact]
    public void TlbRefreshDeviceGetsTheSingleQueueOthersPerCpuQueues()
    {
        var m = Boot();
        var nvme = m.IommuDma.StateOf(m.Device(Nvme))!.Cookie;
        var nic = m.IommuDma.StateOf(m.Device(Nic))!.Cookie;
        Assert.Equal(new IommuDmaOptions(FlushQueueType.Single, 32768, 1000), nvme.Options);
        Assert.Equal(new IommuDmaOptions(FlushQueueType.PerCpu, 256, 10), nic.Options);
        Assert.Equal((FlushQueueType.Single, 32768, 1000, 1), (nvme.Fq!.Type, nvme.Fq.Size, nvme.Fq.TimeoutMs, nvme.Fq.QueueCount));
        Assert.Equal((FlushQueueType.PerCpu, 256, 10, m.Spec.Cpus), (nic.Fq!.Type, nic.Fq.Size, nic.Fq.TimeoutMs, nic.Fq.QueueCount));
        // the per-device setup states it, and report.json gets it as devices[].flushQueue
        Assert.Equal(new DeviceFlushQueue("single", 32768, 1, 1000), m.SetupOf(m.Device(Nvme)).FlushQueue);
        Assert.Equal(new DeviceFlushQueue("per-cpu", 256, m.Spec.Cpus, 10), m.SetupOf(m.Device(Nic)).FlushQueue);
        Assert.Contains("one shared flush queue (32768 entries, 1000 ms", m.SetupOf(m.Device(Nvme)).Reason);
        Assert.Contains("per-CPU flush queues", m.SetupOf(m.Device(Nic)).Reason);
    }

    [Fact]
    public void StrictDomainsHaveNoFlushQueueAndIsmStaysStrict()
    {
        var strict = Boot(IommuPolicy.Strict);
        Assert.Null(strict.IommuDma.StateOf(strict.Device(Nvme))!.Cookie.Fq);
        Assert.Null(strict.SetupOf(strict.Device(Nvme)).FlushQueue);
        // an ISM function has no IOMMU_CAP_DEFERRED_FLUSH: iommu_dma_init_domain() demotes DMA_FQ to DMA
        var ism = Boot(edit: s => s.Devices[1].Zpci!.Ism = true);
        Assert.Null(ism.IommuDma.StateOf(ism.Device(Nic))!.Cookie.Fq);
        Assert.Contains("(DMA)", ism.SetupOf(ism.Device(Nic)).Domain);
        Assert.Null(ism.SetupOf(ism.Device(Nic)).FlushQueue);
    }

    /// <summary>Maps and unmaps <paramref name="n"/> single pages; returns the IOVAs.</summary>
    static List<DmaAddr> MapUnmap(Machine m, string name, int n)
    {
        var dev = m.Device(name);
        var iovas = new List<DmaAddr>();
        for (int i = 0; i < n; i++)
        {
            Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out var page));
            var dma = m.Dma.MapPage(0, dev, page, 4096, DmaDirection.ToDevice);
            Assert.False(m.Dma.MappingError(dev, dma));
            iovas.Add(dma);
        }
        foreach (var d in iovas) m.Dma.UnmapPage(0, dev, d, 4096, DmaDirection.ToDevice);
        return iovas;
    }

    [Fact]
    public void StrictRefreshesEveryUnmapAndTlbRefreshAlsoEveryMap()
    {
        var m = Boot(IommuPolicy.Strict);
        var iovas = MapUnmap(m, Nvme, 10);
        MapUnmap(m, Nic, 10);
        var nvme = Driver(m, Nvme);
        var nic = Driver(m, Nic);
        Assert.Equal((10, 10, 0), (nvme.SyncMapRpcits, nvme.SyncRpcits, nvme.GlobalRpcits));
        Assert.Equal((0, 10, 0), (nic.SyncMapRpcits, nic.SyncRpcits, nic.GlobalRpcits));
        // forcedac + top-down below the reserved region above end_dma = 4 GiB + memory size - 1
        var f = nvme.FunctionOf(m.Device(Nvme))!.Value;
        Assert.Equal((1UL << 32) + (8UL << 30) - 1, f.EndDma);
        Assert.Equal(f.EndDma + 1 - 0x1000, iovas[0].Value);
        Assert.Equal(f.EndDma + 1 - 0x2000, iovas[1].Value);
    }

    [Fact]
    public void LazyDefersUnmapRefreshesToOneGlobalRpcitWhenTheTimerFires()
    {
        var m = Boot();
        MapUnmap(m, Nvme, 10);
        var drv = Driver(m, Nvme);
        var cookie = m.IommuDma.StateOf(m.Device(Nvme))!.Cookie;
        Assert.Equal((10, 0, 0), (drv.SyncMapRpcits, drv.SyncRpcits, drv.GlobalRpcits));
        Assert.Equal(10, cookie.Fq!.Stats.IovasHeld);
        m.Clock.Advance(999_000_000);                       // within IOVA_SINGLE_FQ_TIMEOUT: nothing yet
        cookie.Allocator.RunDueEvents();
        Assert.Equal(0, drv.GlobalRpcits);
        m.Clock.Advance(24_000_000);                        // 250 jiffies sit in level 1 (8-jiffy buckets): 1.024 s
        cookie.Allocator.RunDueEvents();
        Assert.Equal(0, drv.GlobalRpcits);
        m.Clock.Advance(1_000_000);
        cookie.Allocator.RunDueEvents();
        Assert.Equal(1, drv.GlobalRpcits);                  // fq_flush_timeout() → flush_iotlb_all → zpci_refresh_all()
        Assert.Equal(0, cookie.Fq.Stats.IovasHeld);
        Assert.Equal(1, cookie.Fq.Stats.TimerFlushes);
    }
}
