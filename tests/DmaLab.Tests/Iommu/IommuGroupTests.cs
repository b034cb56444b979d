using DmaLab.Iommu;
using DmaLab.Iommu.Drivers;

namespace DmaLab.Tests.Iommu;

public class IommuGroupTests
{
    static int? Gid(TestRig rig, string dev) => rig.Iommu.Info(rig.Dev(dev)).GroupId;

    /// <summary>
    /// Golden: the QEMU q35 VT-d capture (qemu-vtd-strict-sample.platform.txt) has 00:00.0, 04.0, 05.0, 06.0 alone in
    /// groups 0–3 and the multi-function ICH9 slot 1f.0/1f.2/1f.3 (no ACS) sharing group 4, each probed in bus order.
    /// </summary>
    [Fact]
    public void Q35GroupsMatchTheCapture()
    {
        var p = TestRig.Platform1("IntelVtd", devices: [
            TestRig.Pci("0000:00:00.0"), TestRig.Pci("0000:00:04.0"), TestRig.Pci("0000:00:05.0"), TestRig.Pci("0000:00:06.0"),
            TestRig.Pci("0000:00:1f.0", acs: false), TestRig.Pci("0000:00:1f.2", acs: false), TestRig.Pci("0000:00:1f.3", acs: false)]);
        var rig = new TestRig(p);
        Assert.Equal([0, 1, 2, 3, 4, 4, 4], rig.Devices.Select(d => Gid(rig, d.Name)!.Value).ToArray());
        Assert.Equal("add_device_to_group: IOMMU: groupID=4 device=0000:00:1f.2", rig.Trace.Lines.First(l => l.Contains("1f.2")));
        Assert.All(rig.Devices, d => Assert.Equal(IommuDomainType.Dma, rig.Iommu.Info(d).DomainType));
        // one default domain per group, shared by its three functions
        Assert.Same(rig.Iommu.Info(rig.Dev("0000:00:1f.0")).DefaultDomain, rig.Iommu.Info(rig.Dev("0000:00:1f.3")).DefaultDomain);
        Assert.NotSame(rig.Iommu.Info(rig.Dev("0000:00:04.0")).DefaultDomain, rig.Iommu.Info(rig.Dev("0000:00:05.0")).DefaultDomain);
    }

    [Fact]
    public void MultiFunctionWithAcsIsIsolated()
    {
        var rig = new TestRig(TestRig.Platform1("IntelVtd", devices: [TestRig.Pci("0000:02:00.0"), TestRig.Pci("0000:02:00.1")]));
        Assert.NotEqual(Gid(rig, "0000:02:00.0"), Gid(rig, "0000:02:00.1"));
    }

    [Fact]
    public void DevicesBelowABridgeWithoutAcsShareAGroup()
    {
        var rig = new TestRig(TestRig.Platform1("AmdIommu", devices: [
            TestRig.Pci("0000:03:00.0", acs: false, bridge: "0000:00:1c.0"), TestRig.Pci("0000:03:01.0", acs: false, bridge: "0000:00:1c.0"),
            TestRig.Pci("0000:04:00.0", acs: false, bridge: "0000:00:1c.4"), TestRig.Pci("0000:05:00.0", acs: true, bridge: "0000:00:1c.0")]));
        Assert.Equal(Gid(rig, "0000:03:00.0"), Gid(rig, "0000:03:01.0"));
        Assert.NotEqual(Gid(rig, "0000:03:00.0"), Gid(rig, "0000:04:00.0"));
        Assert.NotEqual(Gid(rig, "0000:03:00.0"), Gid(rig, "0000:05:00.0"));
    }

    [Fact]
    public void ArmSmmuMastersSharingAStreamIdShareAGroupAndSmr()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmu", "arm,mmu-500", devices: [
            TestRig.Plat("gpu", 0x400), TestRig.Plat("gpu-alias", 0x400), TestRig.Plat("vpu", 0x800)]));
        Assert.Equal(Gid(rig, "gpu"), Gid(rig, "gpu-alias"));
        Assert.NotEqual(Gid(rig, "gpu"), Gid(rig, "vpu"));
        var smmu = rig.Driver<ArmSmmu>();
        Assert.Equal(2, smmu.Smrs.Count(s => s.Valid));
        Assert.Equal(2, smmu.S2crs.First(s => s.Count == 2).Count);
    }

    [Fact]
    public void ArmSmmuMaskedSmrCoversAnIdAndPartialOverlapIsRefused()
    {
        // 0x400 with mask 0xf (ids 0x400–0x40f) covers 0x405; 0x408 mask 0x30 overlaps partially → -EINVAL
        var rig = new TestRig(TestRig.Platform1("ArmSmmu", "arm,mmu-500", devices: [
            TestRig.Plat("dsp", 0x400 | (0xfu << 16)), TestRig.Plat("dsp-ctx", 0x405), TestRig.Plat("bad", 0x408 | (0x30u << 16))]));
        Assert.Equal(Gid(rig, "dsp"), Gid(rig, "dsp-ctx"));
        Assert.Equal(-Errno.EINVAL, rig.Iommu.Info(rig.Dev("bad")).ProbeResult);
        Assert.Single(rig.Driver<ArmSmmu>().Smrs, s => s.Valid);
    }

    [Fact]
    public void SmmuV3RefusesADuplicateStreamId()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmuV3", devices: [TestRig.Plat("a", 0x20), TestRig.Plat("b", 0x20)]));
        Assert.Equal(0, rig.Iommu.Info(rig.Dev("a")).ProbeResult);
        Assert.Equal(-Errno.EEXIST, rig.Iommu.Info(rig.Dev("b")).ProbeResult);
    }

    [Fact]
    public void TegraSwgroupAndRockchipInstanceGroups()
    {
        var tegra = new TestRig(TestRig.Platform1("Tegra", devices: [TestRig.Plat("dc", 1), TestRig.Plat("dcb", 1), TestRig.Plat("vic", 2)]));
        Assert.Equal(Gid(tegra, "dc"), Gid(tegra, "dcb"));
        Assert.NotEqual(Gid(tegra, "dc"), Gid(tegra, "vic"));
        var rk = new TestRig(TestRig.Platform1("Rockchip", devices: [TestRig.Plat("vop", 0), TestRig.Plat("vop-win", 1)]));
        Assert.Equal(Gid(rk, "vop"), Gid(rk, "vop-win"));
    }

    [Fact]
    public void ReleaseEmitsRemoveDeviceFromGroup()
    {
        var rig = new TestRig(TestRig.Platform1("IntelVtd", devices: [TestRig.Pci("0000:00:04.0")]));
        rig.Core.ReleaseDevice(rig.Dev("0000:00:04.0"));
        Assert.Equal("remove_device_from_group: IOMMU: groupID=0 device=0000:00:04.0", rig.Trace.Lines[^1]);
        Assert.Null(rig.Core.GetGroup(rig.Dev("0000:00:04.0")));
    }
}
