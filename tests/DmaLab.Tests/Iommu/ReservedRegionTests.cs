using DmaLab.Iommu;
using DmaLab.Iommu.PageTables;
using DmaLab.Platform;

namespace DmaLab.Tests.Iommu;

public class ReservedRegionTests
{
    [Fact]
    public void SmmuReportsTheSoftwareMsiWindow()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmuV3", devices: TestRig.Plat("m", 1)));
        var r = Assert.Single(rig.Core.GetResvRegions(rig.Devices[0]));
        Assert.Equal("0x0000000008000000 0x00000000080fffff msi", r.ToString());
        Assert.Equal(ReservedRegionType.SwMsi, r.Type);
    }

    [Fact]
    public void VtdReportsTheInterruptWindowAndMapsRmrrLikeRegions1To1()
    {
        var p = TestRig.Platform1("IntelVtd", devices: TestRig.Pci("0000:00:02.0"));
        p.ReservedMemory.Add(new ReservedMemorySpec { Name = "rmrr", Base = 0x8f80_0000, Size = 0x2000, NoMap = true, Devices = ["0000:00:02.0"] });
        var rig = new TestRig(p);
        var regions = rig.Core.GetResvRegions(rig.Devices[0]);
        Assert.Equal(["0x000000008f800000 0x000000008f801fff direct", "0x00000000fee00000 0x00000000feefffff msi"], regions.Select(r => r.ToString()));
        var dom = rig.Iommu.Info(rig.Devices[0]).DefaultDomain!;
        Assert.Equal(0x8f80_1010UL, IommuCore.IovaToPhys(dom, 0x8f80_1010));
        Assert.Contains("map: IOMMU: iova=0x000000008f800000 - 0x000000008f802000 paddr=0x000000008f800000 size=8192", rig.Trace.Lines);
    }

    [Fact]
    public void DomainGeometryFollowsTheInputSize()
    {
        var rig = new TestRig(TestRig.Platform1("IntelVtd", devices: TestRig.Pci("0000:00:02.0")));
        var g = rig.Iommu.Info(rig.Devices[0]).DefaultDomain!.Geometry;
        Assert.Equal((0UL, (1UL << 39) - 1, true), (g.ApertureStart, g.ApertureEnd, g.ForceAperture));
        Assert.True(g.Contains(0xffff_f000, 0x1000));
        Assert.False(g.Contains(1UL << 39, 0x1000));
    }
}
