using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.DmaIommu;

/// <summary>Machine.AddDevice: a device that appears after boot is probed into its own group with a default domain and
/// gets its DMA ops and engine, as Linux does for a hot-plugged PCI function.</summary>
public class MachineHotAddTests
{
    [Fact]
    public void Hot_added_pci_function_gets_its_own_dma_domain_and_translates()
    {
        var m = Machine.Boot(PlatformLoader.LoadBuiltIn("x86-q35"), new MachineOptions { Seed = 3 });
        int groups = m.Devices.Select(d => m.Iommu.Core.GetGroup(d)).Where(g => g is not null).Distinct().Count();
        var dev = m.AddDevice(new DeviceSpec { Name = "0000:00:09.0", Bus = "pci", DmaMask = 64, Coherent = true, Iommu = "dmar0" });
        Assert.Equal("iommu-dma", m.SetupOf(dev).Ops);
        Assert.Same(m.IommuDma, dev.DmaOps);
        var g = m.Iommu.Core.GetGroup(dev);
        Assert.NotNull(g);
        Assert.Equal(groups + 1, m.Devices.Select(d => m.Iommu.Core.GetGroup(d)).Where(x => x is not null).Distinct().Count());
        Assert.True(m.Iommu.Core.GetDomain(dev)!.IsPaging);
        Assert.Same(dev, m.Device("0000:00:09.0"));

        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out var page));
        var dma = m.Dma.MapPage(0, dev, page, 4096, DmaDirection.FromDevice);
        Assert.False(m.Dma.MappingError(dev, dma));
        Assert.NotEqual(page.Value, dma.Value); // translated: an IOVA, not the physical address
        Assert.True(m.Engine(dev).Write(dma, new byte[] { 1, 2, 3 }).Ok);
        var back = new byte[3];
        Assert.Equal(MemAccess.Ok, m.Memory.Memory.Read(page, back));
        Assert.Equal(new byte[] { 1, 2, 3 }, back);
        m.Dma.UnmapPage(0, dev, dma, 4096, DmaDirection.FromDevice);
        Assert.Throws<ArgumentException>(() => m.AddDevice(new DeviceSpec { Name = "0000:00:09.0", Bus = "pci" }));
    }

    [Fact]
    public void Hot_added_device_without_an_iommu_is_dma_direct()
    {
        var m = Machine.Boot(PlatformLoader.LoadBuiltIn("x86-q35"));
        var dev = m.AddDevice(new DeviceSpec { Name = "0000:00:0a.0", Bus = "pci", DmaMask = 64, Coherent = true });
        Assert.Equal("dma-direct", m.SetupOf(dev).Ops);
        Assert.Null(m.Iommu.Core.GetGroup(dev));
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out var page));
        Assert.Equal(page.Value, m.Dma.MapPage(0, dev, page, 64, DmaDirection.ToDevice).Value);
    }
}
