using DmaLab.Dma;
using DmaLab.Devices;
using DmaLab.Iommu;
using DmaLab.Iommu.Drivers;

namespace DmaLab.Tests.Iommu;

public class IommuFaultTests
{
    [Fact]
    public void ArmSmmuContextFaultReachesTheHandlerAndTrace()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmu", "arm,mmu-500", devices: TestRig.Plat("isp", 9)));
        var dev = rig.Dev("isp");
        var dom = rig.Iommu.Info(dev).DefaultDomain!;
        var seen = new List<(ulong, IommuFaultFlags, object?)>();
        IommuCore.SetFaultHandler(dom, (d, dv, iova, flags, token) => { seen.Add((iova, flags, token)); return 0; }, "tok");
        var r = rig.Engine("isp").Write(new DmaAddr(0x1234_5000), new byte[4]);
        Assert.Equal(DmaStatus.IommuFault, r.Status);
        Assert.Equal([(0x1234_5000UL, IommuFaultFlags.Write, (object?)"tok")], seen);
        Assert.Equal("io_page_fault: IOMMU:platform isp iova=0x0000000012345000 flags=0x0001", rig.Trace.Lines[^1]);
        var cb = rig.Driver<ArmSmmu>().ContextBanks[dom.HwTag];
        Assert.Equal(ArmSmmu.FsrTf, cb.Fsr & ArmSmmu.FsrTf);
        Assert.Equal(0x1234_5000UL, cb.Far);
        Assert.Equal(ArmSmmu.Fsynr0Wnr, cb.Fsynr0);
        Assert.Single(rig.Core.Faults);
    }

    [Fact]
    public void SmmuV3FaultGoesToTheEventQueueOnly()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmuV3", devices: TestRig.Pci("0000:00:04.0")));
        var r = rig.Engine("0000:00:04.0").Read(new DmaAddr(0x7000), new byte[4]);
        Assert.Equal(DmaStatus.IommuFault, r.Status);
        var v3 = rig.Driver<ArmSmmuV3>();
        var ev = Assert.Single(v3.Events);
        Assert.Equal(SmmuV3EventId.FTranslation, ev.Id);
        Assert.Equal(0x20u, ev.Sid); // RID of 00:04.0
        Assert.DoesNotContain(rig.Trace.Lines, l => l.StartsWith("io_page_fault", StringComparison.Ordinal));
        Assert.Single(rig.Core.Faults);
    }

    [Fact]
    public void AmdFaultIsLoggedAndReported()
    {
        var rig = new TestRig(TestRig.Platform1("AmdIommu", devices: TestRig.Pci("0000:00:05.0")));
        int calls = 0;
        IommuCore.SetFaultHandler(rig.Iommu.Info(rig.Devices[0]).DefaultDomain!, (_, _, _, _, _) => { calls++; return -Errno.ENOSYS; });
        Assert.Equal(DmaStatus.IommuFault, rig.Engine("0000:00:05.0").Read(new DmaAddr(0x9000), new byte[4]).Status);
        Assert.Equal(1, calls);
        var e = Assert.Single(rig.Driver<AmdIommu>().EventLog);
        Assert.Equal(AmdIommu.EventIoFault, e.Type);
        Assert.Equal(0, e.Flags & AmdIommu.EventFlagRw);
        Assert.Equal("io_page_fault: IOMMU:pci 0000:00:05.0 iova=0x0000000000009000 flags=0x0000", rig.Trace.Lines[^1]);
    }

    [Fact]
    public void BlockedDomainAbortsAndIdentityPassesThrough()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmuV3", kernel: k => k.IommuPassthrough = true, devices: TestRig.Plat("m", 3)));
        var dev = rig.Dev("m");
        Assert.Equal(IommuDomainType.Identity, rig.Iommu.Info(dev).DomainType);
        var pa = new DmaLab.Mm.PhysAddr(0x8010_0000);
        rig.Memory.Write(pa, [1, 2, 3, 4]);
        var buf = new byte[4];
        Assert.True(rig.Engine("m").Read(new DmaAddr(pa.Value), buf).Ok);
        Assert.Equal([1, 2, 3, 4], buf);
        var blocked = rig.Core.Instances[0].Ops.DomainAlloc(IommuDomainType.Blocked, dev)!;
        Assert.Equal(0, rig.Core.AttachDevice(blocked, dev));
        Assert.Equal(DmaStatus.IommuFault, rig.Engine("m").Read(new DmaAddr(pa.Value), buf).Status);
        Assert.Empty(rig.Driver<ArmSmmuV3>().Events); // STE.Config = abort records no event
    }
}
