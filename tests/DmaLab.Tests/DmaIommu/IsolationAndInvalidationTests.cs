using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.DmaIommu;

/// <summary>
/// What the default-domain policy and the invalidation mode mean for a device: per-device domains isolate masters of
/// one SMMU (a stray access faults), one domain per instance does not (and the IOTLB entry is shared); a strict unmap
/// cuts access at once, a lazy one leaves the stale IOTLB entry usable until the flush queue's flush-all.
/// </summary>
public class IsolationAndInvalidationTests
{
    const string Gpu2d = "fd000000.gpu-2d", Gpu3d = "fd100000.gpu-3d";

    static (Machine M, PhysAddr Buf, DmaAddr Dma) MapOnGpu2d(DomainPolicy policy)
    {
        var m = Machine.Boot(PlatformLoader.LoadBuiltIn("arm64-ref"), new MachineOptions { DomainPolicy = policy, Seed = 1 });
        var a = m.Device(Gpu2d);
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel | Gfp.Dma32, out var buf));
        m.Memory.Memory.Fill(buf, 4096, 0x5a);
        var dma = m.Dma.MapPage(0, a, buf, 4096, DmaDirection.Bidirectional);
        Assert.False(m.Dma.MappingError(a, dma));
        // the owner reads its buffer: the translation is now in the IOTLB
        var tmp = new byte[4096];
        Assert.Equal(DmaStatus.Ok, m.Engine(a).Read(dma, tmp).Status);
        Assert.All(tmp, b => Assert.Equal(0x5a, b));
        return (m, buf, dma);
    }

    [Fact]
    public void PerDeviceDomainsFaultWhenAnotherMasterTouchesTheBuffer()
    {
        var (m, buf, dma) = MapOnGpu2d(DomainPolicy.PerDevice);
        Assert.NotEqual(m.SetupOf(m.Device(Gpu2d)).Domain, m.SetupOf(m.Device(Gpu3d)).Domain);
        var r = m.Engine(Gpu3d).Write(dma, new byte[64]);
        Assert.Equal(DmaStatus.IommuFault, r.Status);
        var back = new byte[64];
        m.Memory.Memory.Read(buf, back);
        Assert.All(back, b => Assert.Equal(0x5a, b));
        Assert.Contains(m.Findings, f => f.Kind == "iommu-fault" && f.Device == Gpu3d);
    }

    [Fact]
    public void PerInstanceDomainSharesTranslationsAndIotlbEntries()
    {
        var (m, buf, dma) = MapOnGpu2d(DomainPolicy.PerInstance);
        var s2 = m.SetupOf(m.Device(Gpu2d));
        var s3 = m.SetupOf(m.Device(Gpu3d));
        Assert.Equal(s2.Domain, s3.Domain);
        Assert.Contains("shared", s3.Domain);
        Assert.Contains("no isolation", s3.Reason);
        Assert.Same(m.IommuDma.StateOf(m.Device(Gpu2d))!.Cookie, m.IommuDma.StateOf(m.Device(Gpu3d))!.Cookie);
        var before = m.Stats();
        var r = m.Engine(Gpu3d).Read(dma, new byte[64]);
        Assert.Equal(DmaStatus.Ok, r.Status);
        var after = m.Stats();
        // the other master's access hit the entry gpu-2d's read left: no page walk
        Assert.Equal(before.PageWalks, after.PageWalks);
        Assert.True(after.IotlbHits > before.IotlbHits);
        Assert.Equal(DmaStatus.Ok, m.Engine(Gpu3d).Write(dma, new byte[] { 1, 2, 3 }).Status);
        // ... and a TO_DEVICE mapping stays read-only for every master of the shared domain
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel | Gfp.Dma32, out var ro));
        var dmaRo = m.Dma.MapPage(0, m.Device(Gpu2d), ro, 4096, DmaDirection.ToDevice);
        Assert.Equal(DmaStatus.IommuFault, m.Engine(Gpu3d).Write(dmaRo, new byte[8]).Status);
        var back = new byte[3];
        m.Memory.Memory.Read(buf, back);
        Assert.Equal(new byte[] { 1, 2, 3 }, back);
    }

    static (Machine M, Device Dev, DmaAddr Dma) MapAndTouch(IommuPolicy policy)
    {
        var m = Machine.Boot(PlatformLoader.LoadBuiltIn("x86-q35"), new MachineOptions { Policy = policy });
        var nvme = m.Device("0000:00:04.0");
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out var buf));
        var dma = m.Dma.MapPage(0, nvme, buf, 4096, DmaDirection.FromDevice);
        Assert.False(m.Dma.MappingError(nvme, dma));
        Assert.Equal(DmaStatus.Ok, m.Engine(nvme).Write(dma, new byte[512]).Status);
        m.Dma.UnmapPage(0, nvme, dma, 4096, DmaDirection.FromDevice);
        return (m, nvme, dma);
    }

    [Fact]
    public void StrictUnmapCutsTheDeviceOffAtOnce()
    {
        var (m, nvme, dma) = MapAndTouch(IommuPolicy.Strict);
        Assert.Contains("strict", m.SetupOf(nvme).Reason);
        Assert.Equal(DmaStatus.IommuFault, m.Engine(nvme).Write(dma, new byte[512]).Status);
        Assert.Equal(1, m.Stats().StrictSyncs);
    }

    [Fact]
    public void LazyUnmapLeavesAStaleWindowUntilTheFlushQueueFlushes()
    {
        var (m, nvme, dma) = MapAndTouch(IommuPolicy.Lazy);
        Assert.Contains("DMA-FQ", m.SetupOf(nvme).Domain);
        var cookie = m.IommuDma.StateOf(nvme)!.Cookie;
        Assert.NotNull(cookie.Fq);
        // the PTE is gone but the IOTLB still holds it: the device still reaches the freed page
        Assert.Equal(DmaStatus.Ok, m.Engine(nvme).Write(dma, new byte[512]).Status);
        Assert.Equal(1, m.Stats().QueuedUnmaps);
        // nor is the IOVA reused before the flush: the next mapping gets another one
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out var other));
        var dma2 = m.Dma.MapPage(0, nvme, other, 4096, DmaDirection.FromDevice);
        Assert.NotEqual(dma.Value, dma2.Value);
        // the flush queue's timer (10 ms) fires: flush-all, then the device faults
        m.Clock.Advance(20_000_000);
        cookie.Allocator.RunDueEvents();
        Assert.True(m.Stats().FqFlushes >= 1);
        Assert.Equal(DmaStatus.IommuFault, m.Engine(nvme).Write(dma, new byte[512]).Status);
    }
}
