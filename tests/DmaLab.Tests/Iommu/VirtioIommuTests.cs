using DmaLab.Iommu;
using DmaLab.Iommu.Drivers.VirtioIommu;
using DmaLab.Iommu.PageTables;
using DmaLab.Platform;

namespace DmaLab.Tests.Iommu;

/// <summary>virtio-iommu (drivers/iommu/virtio-iommu.c and the virtio spec's IOMMU device): requests in guest memory,
/// the device's own mapping tree, PROBE reserved regions, bypass, detach.</summary>
public class VirtioIommuTests
{
    const IommuProt Rw = IommuProt.Read | IommuProt.Write;

    static TestRig Boot(bool probeMsi, bool bypass = false, bool passthrough = false)
    {
        var p = TestRig.Platform1("VirtioIommu", arch: "x86", kernel: k => k.IommuPassthrough = passthrough, devices: TestRig.Pci("0000:00:04.0"));
        p.Iommus[0].VirtioProbeMsi = probeMsi;
        p.Iommus[0].VirtioBypass = bypass;
        return new TestRig(p);
    }

    [Fact]
    public void Config_space_gives_page_sizes_and_a_64_bit_input_range()
    {
        var rig = Boot(probeMsi: true);
        var drv = (VirtioIommu)rig.Iommu.Instances[0].Ops;
        Assert.Equal(0xffff_ffff_ffff_f000UL, drv.Device.PageSizeMask);
        Assert.Equal(ulong.MaxValue, drv.Device.InputEnd);
        var dom = rig.Iommu.Info(rig.Devices[0]).DefaultDomain!;
        Assert.Equal(IommuDomainType.Dma, dom.Type);
        Assert.Equal(0xffff_ffff_ffff_f000UL, dom.PgsizeBitmap);
    }

    [Fact]
    public void Probe_reports_the_x86_msi_window_else_a_software_msi_region()
    {
        var x86 = Boot(probeMsi: true);
        var r = x86.Core.GetResvRegions(x86.Devices[0]);
        Assert.Contains(r, x => x.Type == ReservedRegionType.Msi && x.Start == 0xfee0_0000 && x.Length == 0x10_0000);
        Assert.DoesNotContain(r, x => x.Type == ReservedRegionType.SwMsi);
        var arm = Boot(probeMsi: false);
        Assert.Contains(arm.Core.GetResvRegions(arm.Devices[0]), x => x.Type == ReservedRegionType.SwMsi && x.Start == 0x800_0000);
    }

    [Fact]
    public void Map_and_unmap_are_requests_the_device_applies_to_its_own_tree()
    {
        var rig = Boot(probeMsi: true);
        var dev = rig.Devices[0];
        var drv = (VirtioIommu)rig.Iommu.Instances[0].Ops;
        var dom = rig.Core.DomainAllocPaging(dev)!;
        Assert.Equal(0, rig.Core.AttachDevice(dom, dev));
        uint ep = rig.Core.GetDevIommu(dev)!.Ids[0];
        Assert.True(drv.Device.IsAttached(ep, out uint id));
        Assert.Equal((uint)dom.HwTag, id);
        long requests = drv.Device.Requests, kicks = drv.Kicks;
        Assert.Equal(0, rig.Core.Map(dom, 0x10_0000, 0x8010_0000, 0x3000, Rw));
        // iommu_map() splits 12 KiB at 1 MiB into an 8 KiB and a 4 KiB page: two MAP requests, one kick (iotlb_sync_map).
        Assert.Equal(2, drv.Device.MappingCount(id));
        Assert.Equal(requests + 2, drv.Device.Requests);
        Assert.Equal(kicks + 1, drv.Kicks);
        int port = rig.Core.GetDevIommu(dev)!.Port;
        Assert.True(rig.Iommu.Instances[0].Hardware.Translate(port, 0x10_1234, true, out ulong pa));
        Assert.Equal(0x8010_1234UL, pa);
        Assert.Equal(0x3000UL, rig.Core.Unmap(dom, 0x10_0000, 0x3000));
        Assert.Equal(0, drv.Device.MappingCount(id));
        Assert.False(rig.Iommu.Instances[0].Hardware.Translate(port, 0x10_1234, true, out _)); // the device dropped it
        Assert.Equal(0, drv.RequestErrors);
    }

    [Fact]
    public void Detach_removes_the_devices_mappings_and_reattach_replays_the_drivers()
    {
        var rig = Boot(probeMsi: true);
        var dev = rig.Devices[0];
        var drv = (VirtioIommu)rig.Iommu.Instances[0].Ops;
        var a = rig.Core.DomainAllocPaging(dev)!;
        var b = rig.Core.DomainAllocPaging(dev)!;
        Assert.Equal(0, rig.Core.Map(a, 0x20_0000, 0x8020_0000, 0x1000, Rw)); // before any endpoint: driver tree only
        Assert.Equal(0, drv.Device.MappingCount((uint)a.HwTag));
        Assert.Equal(0, rig.Core.AttachDevice(a, dev));
        Assert.Equal(1, drv.Device.MappingCount((uint)a.HwTag)); // viommu_replay_mappings()
        rig.Core.DetachDevice(a, dev);                            // back to the default domain: the device frees domain a
        Assert.Equal(0, drv.Device.MappingCount((uint)a.HwTag));
        Assert.Equal(0, rig.Core.AttachDevice(b, dev));
        Assert.Equal(0, drv.Device.MappingCount((uint)b.HwTag));
        Assert.Equal(0x8020_0000UL, IommuCore.IovaToPhys(a, 0x20_0000)); // the driver still has it
    }

    [Fact]
    public void Identity_domain_is_a_bypass_attach_when_the_device_offers_it()
    {
        var rig = Boot(probeMsi: true, bypass: true, passthrough: true);
        var dev = rig.Devices[0];
        var info = rig.Iommu.Info(dev);
        Assert.Equal(IommuDomainType.Identity, info.DomainType);
        Assert.True(rig.Iommu.Instances[0].Hardware.Translate(rig.Core.GetDevIommu(dev)!.Port, 0x1234_5000, false, out ulong pa));
        Assert.Equal(0x1234_5000UL, pa);
        var noBypass = Boot(probeMsi: true, bypass: false, passthrough: true);
        Assert.NotEqual(IommuDomainType.Identity, noBypass.Iommu.Info(noBypass.Devices[0]).DomainType);
    }

    [Fact]
    public void A_bad_request_gets_an_error_status_in_its_tail()
    {
        var rig = Boot(probeMsi: true);
        var drv = (VirtioIommu)rig.Iommu.Instances[0].Ops;
        var mem = rig.Memory;
        var req = new DmaLab.Mm.PhysAddr(TestRig.DramBase + 0x10_0000);
        mem.Fill(req, 64, 0);
        mem.Write(req, [(byte)VirtioIommuRequestType.Map]);
        mem.TryWriteU32(req + 4, 999); // no such domain
        int len = VirtioIommuLayout.Head + VirtioIommuLayout.MapBody + VirtioIommuLayout.Tail;
        Assert.Equal(VirtioIommuStatus.NoEnt, drv.Device.Handle(req, len));
        Span<byte> tail = stackalloc byte[1];
        mem.Read(req + (ulong)(len - 4), tail);
        Assert.Equal((byte)VirtioIommuStatus.NoEnt, tail[0]);
        mem.Write(req, [0x42]);
        Assert.Equal(VirtioIommuStatus.Unsupp, drv.Device.Handle(req, len));
    }
}
