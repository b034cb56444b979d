using DmaLab.Iommu;
using DmaLab.Iommu.Drivers;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu;

/// <summary>AMD-Vi in a VM (drivers/iommu/amd/init.c, iommu.c): an IOMMU reporting NpCache makes the driver set strict
/// (iommu_set_dma_strict(): a lazy default becomes DMA) and flush every new mapping, in naturally aligned pieces.</summary>
public class AmdNpCacheTests
{
    static TestRig Boot(bool npCache, bool strict)
    {
        var p = TestRig.Platform1("AmdIommu", kernel: k => k.IommuStrict = strict, devices: TestRig.Pci("0000:00:04.0"));
        p.Iommus[0].NpCache = npCache;
        return new TestRig(p);
    }

    [Fact]
    public void NpCache_turns_a_lazy_default_into_strict_and_says_why()
    {
        var lazy = Boot(npCache: false, strict: false);
        Assert.Equal(IommuDomainType.DmaFq, lazy.Iommu.Info(lazy.Devices[0]).DomainType);
        Assert.Null(lazy.Core.DmaStrictForcedBy);

        var vm = Boot(npCache: true, strict: false);
        var info = vm.Iommu.Info(vm.Devices[0]);
        Assert.Equal(IommuDomainType.Dma, info.DomainType);
        Assert.Contains("NpCache", info.Reason);
        Assert.Contains("NpCache", vm.Core.DmaStrictForcedBy);
    }

    [Fact]
    public void NpCache_flushes_each_new_mapping_in_aligned_pieces()
    {
        foreach (bool np in new[] { false, true })
        {
            var rig = Boot(np, strict: true);
            var dev = rig.Devices[0];
            var dom = rig.Core.DomainAllocPaging(dev)!;
            Assert.Equal(0, rig.Core.AttachDevice(dom, dev));
            var amd = (AmdIommu)dom.Ops;
            long cmds = amd.InvalidatePagesCmds, waits = amd.CompletionWaits;
            // 0x1000..0x7fff: pieces 0x1000 @0x1000, 0x2000 @0x2000, 0x4000 @0x4000 (address alignment caps each)
            Assert.Equal(0, rig.Core.Map(dom, 0x1000, 0x8000_0000, 0x7000, IommuProt.Read | IommuProt.Write));
            Assert.Equal(np ? 3 : 0, amd.InvalidatePagesCmds - cmds);
            Assert.Equal(np ? 3 : 0, amd.NpCacheFlushes);
            Assert.Equal(np ? 1 : 0, amd.CompletionWaits - waits);
            Assert.Equal(0x8000_2000UL, IommuCore.IovaToPhys(dom, 0x3000));
        }
    }
}
