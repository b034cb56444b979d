using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu;

public class IotlbTests
{
    const IommuProt Rw = IommuProt.Read | IommuProt.Write;

    [Fact]
    public void HitAfterStoreMissBefore()
    {
        var t = new Iotlb(16, 4, IotlbReplacement.Lru, 1);
        Assert.False(t.Lookup(3, 0x1234_5678, true, out _, out _));
        t.Store(3, 0x1234_5678, 0x8765_4678, 4096, Rw);
        Assert.True(t.Lookup(3, 0x1234_5abc, true, out var pa, out var prot));
        Assert.Equal(0x8765_4abcUL, pa);
        Assert.Equal(Rw, prot);
        Assert.False(t.Lookup(4, 0x1234_5abc, true, out _, out _)); // another tag (ASID) misses
        Assert.False(t.Lookup(3, 0x1234_6000, false, out _, out _)); // uncounted probe
        Assert.Equal(1, t.Stats.Hits);
        Assert.Equal(2, t.Stats.Misses);
    }

    [Fact]
    public void BlockEntriesCoverTheirWholeSize()
    {
        var t = new Iotlb(16, 4, IotlbReplacement.Lru, 1);
        t.Store(1, 0x20_0000, 0x8040_0000, 0x20_0000, Rw);
        Assert.True(t.Lookup(1, 0x3f_fff0, true, out var pa, out _));
        Assert.Equal(0x805f_fff0UL, pa);
        Assert.Equal(1, t.InvalidateVa(1, 0x30_0000, 0x1000)); // any overlap removes the block
        Assert.False(t.Lookup(1, 0x20_0000, true, out _, out _));
    }

    [Fact]
    public void LruEvictsTheLeastRecentlyUsedWay()
    {
        var t = new Iotlb(4, 4, IotlbReplacement.Lru, 1); // one set of four ways
        for (ulong i = 0; i < 4; i++) t.Store(0, i << 12, 0x8000_0000 + (i << 12), 4096, Rw);
        Assert.True(t.Lookup(0, 0, true, out _, out _)); // page 0 is now most recent
        t.Store(0, 4 << 12, 0x9000_0000, 4096, Rw);
        Assert.Equal(1, t.Stats.Evictions);
        Assert.True(t.Lookup(0, 0, false, out _, out _));
        Assert.False(t.Lookup(0, 1 << 12, false, out _, out _)); // page 1 was the LRU victim
        Assert.Equal(4, t.ValidEntries);
    }

    [Fact]
    public void RandomReplacementIsDeterministicPerSeed()
    {
        static string Run(ulong seed)
        {
            var t = new Iotlb(8, 8, IotlbReplacement.Random, seed);
            for (ulong i = 0; i < 40; i++) t.Store(0, i << 12, i << 12, 4096, Rw);
            return string.Concat(Enumerable.Range(0, 40).Select(i => t.Lookup(0, (ulong)i << 12, false, out _, out _) ? '1' : '0'));
        }
        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));
    }

    [Fact]
    public void InvalidateByTagAndAll()
    {
        var t = new Iotlb(64, 4, IotlbReplacement.Lru, 1);
        for (ulong i = 0; i < 8; i++) { t.Store(1, i << 12, i << 12, 4096, Rw); t.Store(2, i << 12, i << 12, 4096, Rw); }
        Assert.Equal(8, t.InvalidateTag(1));
        Assert.Equal(8, t.ValidEntries);
        Assert.Equal(8, t.InvalidateAll());
        Assert.Equal(0, t.ValidEntries);
    }

    /// <summary>
    /// The exposure lazy mode has: after an unmap whose invalidation is queued (iommu_unmap_fast with a queued
    /// gather), the device still reaches the old page through the IOTLB; the flush makes it fault.
    /// </summary>
    [Fact]
    public void StaleTranslationUsableUntilInvalidated()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmuV3", kernel: k => k.IommuStrict = false, devices: TestRig.Plat("nic", 5)));
        var dev = rig.Dev("nic");
        var dom = rig.Iommu.Info(dev).DefaultDomain!;
        Assert.Equal(IommuDomainType.DmaFq, dom.Type);
        var pa = new DmaLab.Mm.PhysAddr(0x8040_0000);
        rig.Memory.Fill(pa, 4096, 0x5a);
        Assert.Equal(0, rig.Core.Map(dom, 0x10_0000, pa.Value, 4096, Rw));
        var engine = rig.Engine("nic");
        var buf = new byte[64];
        Assert.True(engine.Read(new DmaAddr(0x10_0000), buf).Ok);  // walk + fill
        var gather = IommuIotlbGather.Init();
        gather.Queued = true;
        Assert.Equal(4096UL, rig.Core.UnmapFast(dom, 0x10_0000, 4096, ref gather));
        IommuCore.IotlbSync(dom, ref gather);
        Assert.Equal(0UL, IommuCore.IovaToPhys(dom, 0x10_0000));
        Array.Clear(buf);
        Assert.True(engine.Read(new DmaAddr(0x10_0000), buf).Ok);  // stale hit: still the old page
        Assert.All(buf, b => Assert.Equal(0x5a, b));
        IommuCore.FlushIotlbAll(dom);                            // the flush queue drains
        Assert.Equal(DmaLab.Devices.DmaStatus.IommuFault, engine.Read(new DmaAddr(0x10_0000), buf).Status);
    }

    [Fact]
    public void StrictUnmapInvalidatesAtOnce()
    {
        var rig = new TestRig(TestRig.Platform1("IntelVtd", devices: TestRig.Pci("0000:00:04.0")));
        var dom = rig.Iommu.Info(rig.Devices[0]).DefaultDomain!;
        Assert.Equal(0, rig.Core.Map(dom, 0xffff_f000, 0x8040_0000, 4096, Rw));
        var engine = rig.Engine("0000:00:04.0");
        var buf = new byte[8];
        Assert.True(engine.Write(new DmaAddr(0xffff_f000), buf).Ok);
        var tu = rig.Iommu.TranslationFor(rig.Devices[0])!.Value.Unit;
        long walks = tu.Walks;
        Assert.True(engine.Write(new DmaAddr(0xffff_f008), buf).Ok);
        Assert.Equal(walks, tu.Walks); // IOTLB hit
        Assert.Equal(4096UL, rig.Core.Unmap(dom, 0xffff_f000, 4096));
        Assert.Equal(DmaLab.Devices.DmaStatus.IommuFault, engine.Write(new DmaAddr(0xffff_f000), buf).Status);
        var vtd = rig.Driver<DmaLab.Iommu.Drivers.IntelVtd>();
        Assert.True(vtd.IotlbPsi >= 1);
        Assert.Equal(DmaLab.Iommu.Drivers.IntelVtd.FrWrite, vtd.FaultRecords[^1].Reason);
    }

    [Fact]
    public void MissCostsWalkTimeHitCostsLittle()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmu", "arm,mmu-500", devices: TestRig.Plat("m", 1)));
        var dom = rig.Iommu.Info(rig.Devices[0]).DefaultDomain!;
        Assert.Equal(0, rig.Core.Map(dom, 0x40_0000, 0x8040_0000, 4096, Rw));
        var (tu, port) = rig.Iommu.TranslationFor(rig.Devices[0])!.Value;
        ulong t0 = rig.Clock.NowNs;
        Assert.True(tu.Translate(port, 0x40_0000, false, out _));
        ulong miss = rig.Clock.NowNs - t0;
        t0 = rig.Clock.NowNs;
        Assert.True(tu.Translate(port, 0x40_0010, false, out _));
        Assert.Equal(rig.Costs.IotlbHitNs, rig.Clock.NowNs - t0);
        Assert.True(miss >= 2 * rig.Costs.DramAccessNs);
    }
}
