using DmaLab.Analysis;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Workloads;

namespace DmaLab.Tests.Workloads;

public class ExposureTests
{
    [Fact]
    public void A512ByteBufferExposesTheRestOfItsPage()
    {
        var t = new ExposureTracker(8UL << 30);
        t.OnMap(0x8_8000_0100, 512, 4096);
        Assert.Equal(3584UL, t.OutsideBytes);
        Assert.Equal(3584UL, t.SubPageBytesTotal);
        // a buffer straddling a page boundary maps two pages
        t.OnMap(0x8_8000_2f00, 512, 4096);
        Assert.Equal(3584UL + 8192 - 512, t.OutsideBytes);
        t.OnUnmap(0x8_8000_0100, 512, 4096);
        t.OnUnmap(0x8_8000_2f00, 512, 4096);
        Assert.Equal(0UL, t.OutsideBytes);
        Assert.Equal(3584UL + 8192 - 512, t.PeakOutsideBytes);
    }

    [Fact]
    public void TwoHalfPageBuffersGivenToTheDeviceExposeNothing()
    {
        var t = new ExposureTracker(1UL << 30);
        t.OnMap(0x1000, 2048, 4096);
        Assert.Equal(2048UL, t.OutsideBytes);
        t.OnMap(0x1800, 2048, 4096);
        Assert.Equal(0UL, t.OutsideBytes);
        t.OnUnmap(0x1000, 2048, 4096);
        Assert.Equal(2048UL, t.OutsideBytes);
    }

    [Fact]
    public void UntranslatedDevicesReachAllOfMemory()
    {
        var t = new ExposureTracker(1UL << 30);
        t.OnMap(0x1000, 512, 0);
        Assert.Equal((1UL << 30) - 512, t.OutsideBytes);
        Assert.True(t.FullMemory);
        Assert.Equal(0UL, t.SubPageBytesTotal);
    }

    /// <summary>The exposure is real: through the IOMMU the device reads the rest of the page the 512-byte buffer
    /// lives in, and faults one page further.</summary>
    [Fact]
    public void TheDeviceReallyReachesTheRestOfThePageAndNoFurther()
    {
        var m = Machine.Boot(PlatformLoader.LoadBuiltIn("arm64-ref"), new MachineOptions { Policy = IommuPolicy.Strict, Seed = 1 });
        var nic = m.Device("0000:02:00.0");
        Assert.True(m.Memory.PageAllocator.TryAllocPages(1, Gfp.Kernel, out var page));
        m.Memory.Memory.Fill(page, 8192, 0x5a);
        var buf = page + 0x100;
        var d = m.Dma.MapPage(0, nic, buf, 512, DmaDirection.ToDevice);
        Assert.False(m.Dma.MappingError(nic, d));
        var eng = m.Engine(nic);
        var probe = new byte[256];
        var inPage = eng.Read(d + 0xc00, probe);   // 0xd00 into the page: outside the buffer, inside its page
        Assert.True(inPage.Ok);
        Assert.All(probe, b => Assert.Equal(0x5a, b));
        var nextPage = eng.Read(new DmaAddr(d.Value - 0x100 + 0x1000), probe);
        Assert.Equal(DmaLab.Devices.DmaStatus.IommuFault, nextPage.Status);
        m.Dma.UnmapPage(0, nic, d, 512, DmaDirection.ToDevice);
    }
}
