using DmaLab.Iommu;

namespace DmaLab.Tests.Iommu;

public class DefaultDomainPolicyTests
{
    static DeviceIommuInfo Info(string model, Action<DmaLab.Platform.KernelOptionsSpec>? k = null, string arch = "arm64", DmaLab.Platform.DeviceSpec? dev = null)
    {
        var rig = new TestRig(TestRig.Platform1(model, arch: arch, kernel: k, devices: dev ?? TestRig.Plat("m", 1)));
        return rig.Iommu.Info(rig.Devices[0]);
    }

    [Fact] public void StrictIsDma() => Assert.Equal(IommuDomainType.Dma, Info("ArmSmmuV3").DomainType);

    [Fact]
    public void LazyIsDmaFqWhereTheDriverDefersFlushes()
    {
        var i = Info("ArmSmmuV3", k => k.IommuStrict = false);
        Assert.Equal(IommuDomainType.DmaFq, i.DomainType);
        Assert.Contains("iommu.strict=0", i.Reason);
    }

    [Fact]
    public void LazyFallsBackToStrictWithoutDeferredFlush()
    {
        var i = Info("Rockchip", k => k.IommuStrict = false);
        Assert.Equal(IommuDomainType.Dma, i.DomainType);
        Assert.Contains("IOMMU_CAP_DEFERRED_FLUSH", i.Reason);
    }

    [Fact] public void PassthroughIsIdentity() => Assert.Equal(IommuDomainType.Identity, Info("IntelVtd", k => k.IommuPassthrough = true, dev: TestRig.Pci("0000:00:04.0")).DomainType);

    [Fact]
    public void UntrustedDeviceIsAlwaysStrictDma()
    {
        var i = Info("IntelVtd", k => { k.IommuPassthrough = true; k.IommuStrict = false; }, dev: TestRig.Pci("0000:00:07.0", untrusted: true));
        Assert.Equal(IommuDomainType.Dma, i.DomainType);
        Assert.Contains("untrusted", i.Reason);
    }

    [Fact]
    public void Arm32DefaultsToIdentity()
    {
        var i = Info("Omap", arch: "arm");
        Assert.Equal(IommuDomainType.Identity, i.DomainType);
        Assert.Contains("ARM32", i.Reason);
    }

    [Fact]
    public void IdentityUnsupportedFallsBackToDma()
    {
        var i = Info("Ipmmu", k => k.IommuPassthrough = true);
        Assert.Equal(IommuDomainType.Dma, i.DomainType);
        Assert.Contains("falling back to DMA", i.Reason);
    }

    [Fact]
    public void PerInstancePolicySharesOneDomainAcrossGroups()
    {
        var perDev = new TestRig(TestRig.Platform1("ArmSmmuV3", devices: [TestRig.Plat("a", 1), TestRig.Plat("b", 2)]));
        Assert.NotSame(perDev.Iommu.Info(perDev.Dev("a")).DefaultDomain, perDev.Iommu.Info(perDev.Dev("b")).DefaultDomain);
        var perInst = new TestRig(TestRig.Platform1("ArmSmmuV3", kernel: k => k.DomainPolicy = "per-instance", devices: [TestRig.Plat("a", 1), TestRig.Plat("b", 2)]));
        var a = perInst.Iommu.Info(perInst.Dev("a"));
        var b = perInst.Iommu.Info(perInst.Dev("b"));
        Assert.NotEqual(a.GroupId, b.GroupId);
        Assert.Same(a.DefaultDomain, b.DefaultDomain);
        Assert.Equal(2, a.DefaultDomain!.AttachedGroups);
        Assert.Contains("per-instance", b.Reason);
    }

    [Fact]
    public void UnknownPolicyIsAConfigurationError()
        => Assert.Throws<ArgumentException>(() => new IommuCore(new DmaLab.Platform.KernelOptionsSpec { DomainPolicy = "per-group" }));
}
