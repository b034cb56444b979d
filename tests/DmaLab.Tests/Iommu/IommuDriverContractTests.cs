using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Iommu.PageTables;
using DmaLab.Platform;
using DmaLab.Sim;

namespace DmaLab.Tests.Iommu;

/// <summary>
/// The same suite against every driver (STYLE: one abstract test base with a factory hook): map, overlapping map
/// fails, partial unmap and remap, full unmap frees every table page, iova_to_phys against a reference dictionary
/// over seeded random operations, and a device DMA through the hardware decode of the driver's configuration.
/// </summary>
public abstract class IommuDriverContractTests
{
    protected abstract string Model { get; }
    protected virtual string Compatible => "";
    protected virtual DeviceSpec Master => TestRig.Plat("master0", 0x10);
    /// <summary>What mapping over a live entry returns: -EEXIST (io-pgtable), -EADDRINUSE (Exynos, Rockchip), or 0 where the
    /// kernel's table code overwrites silently (OMAP iopgtable_store_entry(), Tegra tegra_smmu_set_pte()).</summary>
    protected virtual int OverlapErrno => -Errno.EEXIST;
    /// <summary>AMD v1 maps any power-of-two size as one large page and unmapping part of it removes all of it
    /// (iommu_v1_unmap_pages() returns the large page's size), so partial unmaps only make sense page by page.</summary>
    protected virtual bool UnmapsWholeLargePage => false;
    /// <summary>virtio-iommu keeps mappings as the intervals MAP requests created and never splits one: unmapping part
    /// of a mapping unmaps nothing (viommu_unmap_pages()).</summary>
    protected virtual bool UnmapsWholeMappingsOnly => false;
    /// <summary>False where no page table lives in guest memory (virtio-iommu: the device keeps the mappings).</summary>
    protected virtual bool TablesInGuestMemory => true;
    /// <summary>True where unmap invalidates every page asked for, mapped or not, and reports the full size
    /// (s390_iommu_unmap_pages()).</summary>
    protected virtual bool UnmapOfNothingReportsSize => false;
    /// <summary>False where the hardware has no per-page write permission (OMAP).</summary>
    protected virtual bool EnforcesReadOnly => true;

    /// <summary>Adjusts the test platform (an IOMMU capability, a kernel option) before boot.</summary>
    protected virtual void Configure(PlatformSpec platform) { }

    TestRig Boot()
    {
        var p = TestRig.Platform1(Model, Compatible, devices: Master);
        Configure(p);
        return new(p);
    }

    (TestRig Rig, IommuDomain Dom) Unmanaged()
    {
        var rig = Boot();
        var dev = rig.Devices[0];
        Assert.Equal(0, rig.Iommu.Info(dev).ProbeResult);
        var dom = rig.Core.DomainAllocPaging(dev);
        Assert.NotNull(dom);
        Assert.Equal(0, rig.Core.AttachDevice(dom!, dev));
        return (rig, dom!);
    }

    const IommuProt Rw = IommuProt.Read | IommuProt.Write;

    [Fact]
    public void DefaultDomainIsDmaAndAttached()
    {
        var rig = Boot();
        var info = rig.Iommu.Info(rig.Devices[0]);
        Assert.Equal(0, info.ProbeResult);
        Assert.Equal(IommuDomainType.Dma, info.DomainType);
        Assert.Contains(rig.Trace.Lines, l => l == $"attach_device_to_domain: IOMMU: device={rig.Devices[0].Name}");
    }

    [Fact]
    public void MapTranslatesAndOverlapFails()
    {
        var (rig, dom) = Unmanaged();
        ulong pg = IommuPgsize.MinPageSize(dom.PgsizeBitmap);
        Assert.Equal(0, rig.Core.Map(dom, 0x10_0000, 0x8010_0000, 4 * pg, Rw));
        Assert.Equal(0x8010_0000UL + pg + 0x10, IommuCore.IovaToPhys(dom, 0x10_0000 + pg + 0x10));
        Assert.Equal(OverlapErrno, rig.Core.Map(dom, 0x10_0000 + pg, 0x8100_0000, pg, Rw));
        // a failed map is unwound and leaves the original mapping untouched; an overwriting driver replaced it
        Assert.Equal(OverlapErrno == 0 ? 0x8100_0000UL : 0x8010_0000UL + pg, IommuCore.IovaToPhys(dom, 0x10_0000 + pg));
        Assert.Equal(0UL, IommuCore.IovaToPhys(dom, 0x10_0000 + 4 * pg));
    }

    [Fact]
    public void PartialUnmapThenRemap()
    {
        var (rig, dom) = Unmanaged();
        ulong pg = IommuPgsize.MinPageSize(dom.PgsizeBitmap);
        if (UnmapsWholeMappingsOnly)
        {
            Assert.Equal(0, rig.Core.Map(dom, 0x20_0000, 0x8020_0000, 8 * pg, Rw));
            Assert.Equal(0UL, rig.Core.Unmap(dom, 0x20_0000 + 3 * pg, 2 * pg)); // would split the mapping: nothing
            Assert.Equal(0x8020_0000UL + 3 * pg, IommuCore.IovaToPhys(dom, 0x20_0000 + 3 * pg));
            Assert.Equal(8 * pg, rig.Core.Unmap(dom, 0x20_0000, 8 * pg));
            for (ulong i = 0; i < 8; i++) Assert.Equal(0, rig.Core.Map(dom, 0x20_0000 + i * pg, 0x8020_0000 + i * pg, pg, Rw));
        }
        else if (UnmapsWholeLargePage)
        {
            Assert.Equal(0, rig.Core.Map(dom, 0x20_0000, 0x8020_0000, 8 * pg, Rw));
            Assert.Equal(8 * pg, rig.Core.Unmap(dom, 0x20_0000 + 3 * pg, 2 * pg)); // more than asked: the whole 32K page
            Assert.Equal(0UL, IommuCore.IovaToPhys(dom, 0x20_0000));
            Assert.Equal(0UL, rig.Core.Unmap(dom, 0x20_0000, 8 * pg));
            for (ulong i = 0; i < 8; i++) Assert.Equal(0, rig.Core.Map(dom, 0x20_0000 + i * pg, 0x8020_0000 + i * pg, pg, Rw));
        }
        else Assert.Equal(0, rig.Core.Map(dom, 0x20_0000, 0x8020_0000, 8 * pg, Rw));
        Assert.Equal(2 * pg, rig.Core.Unmap(dom, 0x20_0000 + 3 * pg, 2 * pg));
        Assert.Equal(0UL, IommuCore.IovaToPhys(dom, 0x20_0000 + 3 * pg));
        Assert.Equal(0x8020_0000UL + 5 * pg, IommuCore.IovaToPhys(dom, 0x20_0000 + 5 * pg));
        Assert.Equal(0, rig.Core.Map(dom, 0x20_0000 + 3 * pg, 0x8800_0000, 2 * pg, Rw));
        Assert.Equal(0x8800_0000UL + pg, IommuCore.IovaToPhys(dom, 0x20_0000 + 4 * pg));
        Assert.Equal(UnmapOfNothingReportsSize ? pg : 0UL, rig.Core.Unmap(dom, 0x70_0000, pg)); // nothing there
    }

    [Fact]
    public void UnmapAllAndFreeReleasesEveryTablePage()
    {
        var rig = Boot();
        var dev = rig.Devices[0];
        long before = rig.Pages.PagesInUse;
        var dom = rig.Core.DomainAllocPaging(dev)!;
        Assert.Equal(0, rig.Core.AttachDevice(dom, dev));
        ulong pg = IommuPgsize.MinPageSize(dom.PgsizeBitmap);
        for (ulong i = 0; i < 64; i++) Assert.Equal(0, rig.Core.Map(dom, 0x4000_0000 + i * 0x40_0000, 0x8000_0000 + i * pg, pg, Rw));
        if (TablesInGuestMemory) Assert.True(rig.Pages.PagesInUse > before);
        for (ulong i = 0; i < 64; i++) Assert.Equal(pg, rig.Core.Unmap(dom, 0x4000_0000 + i * 0x40_0000, pg));
        rig.Core.DetachDevice(dom, dev);
        rig.Core.DomainFree(dom);
        Assert.Equal(before, rig.Pages.PagesInUse);
    }

    [Fact]
    public void RandomOpsAgreeWithReference()
    {
        var (rig, dom) = Unmanaged();
        ulong pg = IommuPgsize.MinPageSize(dom.PgsizeBitmap);
        var rng = new Rng(0x5eed);
        var reference = new Dictionary<ulong, ulong>();
        const int slots = 256;
        for (int op = 0; op < 1500; op++)
        {
            ulong slot = rng.Next(slots), pages = UnmapsWholeLargePage || UnmapsWholeMappingsOnly ? 1 : 1 + rng.Next(4);
            ulong iova = 0x100_0000 + slot * pg;
            bool anyMapped = false, allMapped = true;
            for (ulong p = 0; p < pages; p++) { bool m = reference.ContainsKey(iova + p * pg); anyMapped |= m; allMapped &= m; }
            if (rng.Chance(0.55))
            {
                ulong pa = 0x8000_0000 + rng.Next(1 << 14) * pg;
                int ret = rig.Core.Map(dom, iova, pa, pages * pg, Rw);
                if (anyMapped && OverlapErrno != 0) Assert.Equal(OverlapErrno, ret);
                else
                {
                    Assert.Equal(0, ret);
                    for (ulong p = 0; p < pages; p++) reference[iova + p * pg] = pa + p * pg;
                }
            }
            else if (allMapped)
            {
                Assert.Equal(pages * pg, rig.Core.Unmap(dom, iova, pages * pg));
                for (ulong p = 0; p < pages; p++) reference.Remove(iova + p * pg);
            }
            ulong probe = 0x100_0000 + rng.Next(slots) * pg + rng.Next(pg);
            ulong want = reference.TryGetValue(probe & ~(pg - 1), out var b) ? b + (probe & (pg - 1)) : 0;
            Assert.Equal(want, IommuCore.IovaToPhys(dom, probe));
        }
    }

    [Fact]
    public void DeviceReadsWhatCpuWroteThroughTheDomain()
    {
        var (rig, dom) = Unmanaged();
        ulong pg = IommuPgsize.MinPageSize(dom.PgsizeBitmap);
        var data = Enumerable.Range(0, 6000).Select(i => (byte)(i * 13 + 7)).ToArray();
        var pa = new DmaLab.Mm.PhysAddr(0x8030_0000);
        rig.Memory.Write(pa, data);
        Assert.Equal(0, rig.Core.Map(dom, 0x40_0000, pa.Value, 2 * pg, IommuProt.Read));
        var engine = rig.Engine(rig.Devices[0].Name);
        var back = new byte[data.Length];
        var r = engine.Read(new DmaAddr(0x40_0000), back);
        Assert.Equal(DmaLab.Devices.DmaStatus.Ok, r.Status);
        Assert.Equal(data, back);
        // read-only mapping: a device write faults and leaves memory unchanged
        if (!EnforcesReadOnly) return;
        var w = engine.Write(new DmaAddr(0x40_0000), new byte[16]);
        Assert.Equal(DmaLab.Devices.DmaStatus.IommuFault, w.Status);
        rig.Memory.Read(pa, back.AsSpan(0, 16));
        Assert.Equal(data.AsSpan(0, 16).ToArray(), back.AsSpan(0, 16).ToArray());
        Assert.NotEmpty(rig.Core.Faults);
    }
}

public sealed class ArmSmmuContractTests : IommuDriverContractTests { protected override string Model => "ArmSmmu"; protected override string Compatible => "arm,mmu-500"; }
public sealed class ArmSmmuV3ContractTests : IommuDriverContractTests { protected override string Model => "ArmSmmuV3"; protected override DeviceSpec Master => TestRig.Pci("0000:00:04.0"); }
public sealed class IntelVtdContractTests : IommuDriverContractTests { protected override string Model => "IntelVtd"; protected override DeviceSpec Master => TestRig.Pci("0000:00:04.0"); }
public sealed class AmdIommuContractTests : IommuDriverContractTests
{
    protected override string Model => "AmdIommu";
    protected override DeviceSpec Master => TestRig.Pci("0000:00:04.0");
    protected override int OverlapErrno => 0; // iommu_v1_map_pages() clears and replaces present PTEs
    protected override bool UnmapsWholeLargePage => true;
}
/// <summary>The contract holds for an AMD-Vi that reports NpCache (a virtual one) too.</summary>
public sealed class AmdIommuNpCacheContractTests : IommuDriverContractTests
{
    protected override string Model => "AmdIommu";
    protected override DeviceSpec Master => TestRig.Pci("0000:00:04.0");
    protected override int OverlapErrno => 0;
    protected override bool UnmapsWholeLargePage => true;
    protected override void Configure(PlatformSpec platform) => platform.Iommus[0].NpCache = true;
}
/// <summary>virtio-iommu: MAP/UNMAP requests on the request queue, the device's own mapping tree.</summary>
public sealed class VirtioIommuContractTests : IommuDriverContractTests
{
    protected override string Model => "VirtioIommu";
    protected override DeviceSpec Master => TestRig.Pci("0000:00:04.0");
    protected override bool UnmapsWholeMappingsOnly => true;
    protected override bool TablesInGuestMemory => false;
    protected override void Configure(PlatformSpec platform) => platform.Iommus[0].VirtioProbeMsi = true;
}
public sealed class OmapContractTests : IommuDriverContractTests { protected override string Model => "Omap"; protected override int OverlapErrno => 0; protected override bool EnforcesReadOnly => false; }
public sealed class MsmContractTests : IommuDriverContractTests { protected override string Model => "Msm"; }
public sealed class ExynosContractTests : IommuDriverContractTests { protected override string Model => "Exynos"; protected override int OverlapErrno => -Errno.EADDRINUSE; }
public sealed class TegraContractTests : IommuDriverContractTests { protected override string Model => "Tegra"; protected override int OverlapErrno => 0; }
public sealed class RockchipContractTests : IommuDriverContractTests { protected override string Model => "Rockchip"; protected override int OverlapErrno => -Errno.EADDRINUSE; }
public sealed class Sun50iContractTests : IommuDriverContractTests { protected override string Model => "Sun50i"; }
public sealed class IpmmuContractTests : IommuDriverContractTests { protected override string Model => "Ipmmu"; }
public sealed class S390IommuContractTests : IommuDriverContractTests
{
    protected override string Model => "S390Iommu";
    /// <summary>A function whose DMA window starts at 0, so the suite's low IOVAs are inside it.</summary>
    protected override DeviceSpec Master
    {
        get { var d = TestRig.Pci("0000:00:04.0"); d.Zpci = new ZpciSpec { StartDma = 0 }; return d; }
    }
    protected override int OverlapErrno => 0; // dma_update_cpu_trans() rewrites a valid entry (WARN_ON_ONCE only)
    protected override bool UnmapOfNothingReportsSize => true;
}
