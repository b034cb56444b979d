using DmaLab.Iommu;
using DmaLab.Iommu.Drivers;

namespace DmaLab.Tests.Iommu;

public class ContextExhaustionTests
{
    [Fact]
    public void ArmSmmuRunsOutOfContextBanksWithEnospc()
    {
        var p = TestRig.Platform1("ArmSmmu", "arm,mmu-401", devices: [TestRig.Plat("a", 1), TestRig.Plat("b", 2), TestRig.Plat("c", 3)]);
        p.Iommus[0].ContextBanks = 2;
        var rig = new TestRig(p);
        Assert.Equal(0, rig.Iommu.Info(rig.Dev("a")).ProbeResult);
        Assert.Equal(0, rig.Iommu.Info(rig.Dev("b")).ProbeResult);
        Assert.Equal(-Errno.ENOSPC, rig.Iommu.Info(rig.Dev("c")).ProbeResult);
        var smmu = rig.Driver<ArmSmmu>();
        Assert.Equal(2, smmu.ContextBanksInUse);
        // an unmanaged domain cannot get a bank either, until one is released
        var dom = rig.Core.DomainAllocPaging(rig.Dev("a"))!;
        Assert.Equal(-Errno.ENOSPC, rig.Core.AttachDevice(dom, rig.Dev("a")));
        rig.Core.ReleaseDevice(rig.Dev("b")); // its group goes away with its default domain and bank
        Assert.Equal(1, smmu.ContextBanksInUse);
        Assert.Equal(0, rig.Core.AttachDevice(dom, rig.Dev("a")));
        Assert.Equal(2, smmu.ContextBanksInUse);
    }

    /// <summary>The 2014 proposal's point: one default domain per SMMU instance needs one context bank, not one per group.</summary>
    [Fact]
    public void PerInstancePolicyFitsManyMastersInFewBanks()
    {
        var p = TestRig.Platform1("ArmSmmu", "arm,mmu-401", kernel: k => k.DomainPolicy = "per-instance",
            devices: [TestRig.Plat("a", 1), TestRig.Plat("b", 2), TestRig.Plat("c", 3)]);
        p.Iommus[0].ContextBanks = 2;
        var rig = new TestRig(p);
        Assert.All(rig.Devices, d => Assert.Equal(0, rig.Iommu.Info(d).ProbeResult));
        Assert.Equal(1, rig.Driver<ArmSmmu>().ContextBanksInUse);
        Assert.Equal(3, rig.Core.Groups.Count);
    }

    [Fact]
    public void ContextBankRegistersHoldTheTableAndAsid()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmu", "arm,mmu-500", devices: TestRig.Plat("a", 7)));
        var dom = rig.Iommu.Info(rig.Dev("a")).DefaultDomain!;
        var cb = rig.Driver<ArmSmmu>().ContextBanks[dom.HwTag];
        Assert.True(cb.InUse);
        Assert.Equal(dom.Pgtable!.Root.Value, cb.Ttbr0 & 0x0000_ffff_ffff_f000UL);
        Assert.Equal((ulong)cb.Asid, cb.Ttbr0 >> 48);
    }

    [Fact]
    public void TegraAsidsAndIpmmuContextsAreLimited()
    {
        var tp = TestRig.Platform1("Tegra", devices: [TestRig.Plat("a", 1), TestRig.Plat("b", 2)]);
        tp.Iommus[0].ContextBanks = 1;
        var tegra = new TestRig(tp);
        Assert.Equal(-Errno.ENOSPC, tegra.Iommu.Info(tegra.Dev("b")).ProbeResult);

        var ip = TestRig.Platform1("Ipmmu", devices: [TestRig.Plat("a", 1)]);
        ip.Iommus[0].ContextBanks = 1;
        var ipmmu = new TestRig(ip);
        var extra = ipmmu.Core.DomainAllocPaging(ipmmu.Dev("a"))!;
        Assert.Equal(-Errno.EBUSY, ipmmu.Core.AttachDevice(extra, ipmmu.Dev("a")));
    }

    [Fact]
    public void OmapDomainServesOneMaster()
    {
        // ARM32: IDENTITY default domains; the arch DMA code then attaches its own paging domain
        var rig = new TestRig(TestRig.Platform1("Omap", arch: "arm", devices: [TestRig.Plat("ipu", 0), TestRig.Plat("ipu-mmu2", 1)]));
        var group = rig.Core.GetGroup(rig.Dev("ipu"))!;
        Assert.Equal(2, group.Devices.Count); // one group per OMAP IOMMU instance
        Assert.Equal(IommuDomainType.Identity, group.DefaultDomain!.Type);
        var other = rig.Core.DomainAllocPaging(rig.Dev("ipu"))!;
        Assert.Equal(-Errno.EINVAL, rig.Core.AttachDevice(other, rig.Dev("ipu"))); // iommu_attach_device needs a singleton group
        Assert.Equal(-Errno.EINVAL, rig.Core.AttachGroup(other, group));           // the second master cannot share the domain
        Assert.Same(group.DefaultDomain, rig.Core.GetDomain(rig.Dev("ipu-mmu2")));
    }
}
