using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Platform;

namespace DmaLab.Tests.DmaIommu;

/// <summary>Golden sequences for iommu_dma_alloc_iova() and friends, worked out from drivers/iommu/dma-iommu.c.</summary>
public class IommuDmaIovaAllocatorTests
{
    const ulong Aperture48 = (1UL << 48) - 1;

    static Device Dev(string bus = "pci", int mask = 64, ulong boundary = 0xffff_ffff, ulong maxSeg = 65536) =>
        new(new DeviceSpec { Name = "0000:00:04.0", Bus = bus, DmaMask = mask, SegmentBoundary = boundary, MaxSegmentSize = maxSeg });

    [Fact]
    public void PciDeviceTriesBelow4GFirstAndStopsAfterTheFirstFailure()
    {
        // dma-ranges starting at 0xffff0000 give start_pfn 0xffff0: only 64 KiB below 4 GiB.
        var a = new IommuDmaIovaAllocator(0x1000, 0, Aperture48, dmaRangeMin: 0xffff_0000);
        Assert.Equal(0xffff0UL, a.Iovad.StartPfn);
        var m = a.Attach(Dev());
        Assert.True(m.Pci32BitWorkaround);
        var x = a.MapPage(m, 0x1000_0000, 0x8000, m.Device.DmaMask, 0);
        Assert.Equal(0xffff_8000UL, x.Value);
        Assert.Equal(0xffff_0000UL, a.MapPage(m, 0x2000_0000, 0x8000, m.Device.DmaMask, 0).Value);
        // The 32-bit attempt fails: pci_32bit_workaround goes off and the full 48-bit space is used.
        Assert.Equal(0xffff_ffff_8000UL, a.MapPage(m, 0x3000_0000, 0x8000, m.Device.DmaMask, 0).Value);
        Assert.False(m.Pci32BitWorkaround);
        Assert.Equal(1, m.DacFallbacks);
        // Even with 32-bit space free again, later mappings stay above 4 GiB.
        a.Unmap(x, 0x8000, 0);
        Assert.Equal(0xffff_ffff_7000UL, a.MapPage(m, 0x4000_0000, 0x1000, m.Device.DmaMask, 0).Value);
        Assert.Null(a.Iovad.Validate());
    }

    [Fact]
    public void ForceDacPlatformDevicesApertureAndBusLimit()
    {
        var dac = new IommuDmaIovaAllocator(0x1000, 0, Aperture48, forceDac: true);
        var m = dac.Attach(Dev());
        Assert.False(m.Pci32BitWorkaround);
        Assert.Equal(0xffff_ffff_f000UL, dac.MapPage(m, 0x1000, 0x1000, m.Device.DmaMask, 0).Value);

        var plat = new IommuDmaIovaAllocator(0x1000, 0, Aperture48);
        var pm = plat.Attach(Dev(bus: "platform"));
        Assert.False(pm.Pci32BitWorkaround);
        Assert.Equal(0xffff_ffff_f000UL, plat.MapPage(pm, 0x1000, 0x1000, pm.Device.DmaMask, 0).Value);

        var vtd = new IommuDmaIovaAllocator(0x1000, 0, (1UL << 39) - 1, forceDac: true);
        var vm = vtd.Attach(Dev());
        Assert.Equal(0x7f_ffff_f000UL, vtd.MapPage(vm, 0x1000, 0x1000, vm.Device.DmaMask, 0).Value);

        var narrow = new IommuDmaIovaAllocator(0x1000, 0, Aperture48, forceDac: true);
        var dev = Dev();
        dev.BusDmaLimit = 0x3fff_ffff;
        var nm = narrow.Attach(dev);
        Assert.Equal(0x3fff_f000UL, narrow.MapPage(nm, 0x1000, 0x1000, nm.Device.DmaMask, 0).Value);

        var m32 = new IommuDmaIovaAllocator(0x1000, 0, Aperture48);
        var d32 = m32.Attach(Dev(mask: 32));
        Assert.Equal(0xffff_f000UL, m32.MapPage(d32, 0x1000, 0x1000, d32.Device.DmaMask, 0).Value);
        Assert.True(d32.Pci32BitWorkaround); // never needed: the limit is not above 4 GiB
    }

    [Fact]
    public void MapKeepsTheOffsetWithinTheGranuleAndSizesTheIovaToCoverIt()
    {
        var a = new IommuDmaIovaAllocator(0x1000 | 0x20_0000, 0, Aperture48);
        var m = a.Attach(Dev());
        Assert.Equal(0xffff_f678UL, a.MapPage(m, 0x1234_5678, 0x100, m.Device.DmaMask, 0).Value);
        // 0x678 + 0x1000 spans two granules: a 2-page IOVA aligned to 2 pages, (0xfffff - 2) & ~1.
        Assert.Equal(0xffff_c678UL, a.MapPage(m, 0x1234_5678, 0x1000, m.Device.DmaMask, 0).Value);
        Assert.Equal(0x2000UL, a.MapSize(0x1234_5678, 0x1000));
        var coherent = a.AllocCoherent(m, 6726, 0); // 2 pages
        Assert.Equal(0xffff_a000UL, coherent.Value);
        var dev = Dev();
        dev.MinAlignMask = 0x1fff; // wider than the granule: dma-iommu refuses
        Assert.Equal(DmaAddr.MappingError, a.MapPage(a.Attach(dev), 0x1000, 0x1000, ulong.MaxValue, 0));
    }

    [Fact]
    public void MsiDoorbellIsTheDomainsFirstIovaAndIsMappedOnce()
    {
        var a = new IommuDmaIovaAllocator(0x1000, 0, Aperture48);
        var m = a.Attach(Dev());
        Assert.Equal(0xffff_f000UL, a.GetMsiPage(m, 0x0809_0040, 0));
        Assert.Equal(0xffff_f000UL, a.GetMsiPage(m, 0x0809_0044, 0));
        Assert.Equal(0xffff_e000UL, a.MapPage(m, 0x5000, 0x1000, m.Device.DmaMask, 0).Value);
        Assert.Single(a.MsiPages);

        // A hardware MSI window (VT-d IOAPIC range) is identity-mapped and reserved instead.
        var vtd = new IommuDmaIovaAllocator(0x1000, 0, (1UL << 39) - 1);
        vtd.ReserveRegion(0xfee0_0000, 0x10_0000, hwMsi: true);
        var vm = vtd.Attach(Dev());
        Assert.Equal(0xfee0_0000UL, vtd.GetMsiPage(vm, 0xfee0_0000, 0));
        Assert.Equal(0xffff_f000UL, vtd.MapPage(vm, 0x5000, 0x1000, vm.Device.DmaMask, 0).Value);
        Assert.True(vtd.Iovad.FindIova(0xfee80).PfnLo == 0xfee00);
    }

    [Fact]
    public void MsiCookieHandsOutConsecutivePagesAndUndoesTheLatest()
    {
        var c = IommuDmaIovaAllocator.ForMsiCookie(0x0800_0000);
        var m = c.Attach(Dev());
        Assert.Equal(0x0800_0000UL, c.GetMsiPage(m, 0x0809_0040, 0));
        Assert.Equal(0x0800_0000UL, c.GetMsiPage(m, 0x0809_0000, 0));
        Assert.Equal(0x0800_1000UL, c.GetMsiPage(m, 0x0a00_0000, 0));
        c.FreeIova(0x0800_1000, 0x1000, 0);
        Assert.Equal(0x0800_1000UL, c.AllocIova(m, 0x1000, ulong.MaxValue, 0));
    }

    [Fact]
    public void MapSgMergesGranuleContiguousSegmentsIntoOneIovaRange()
    {
        var a = new IommuDmaIovaAllocator(0x1000, 0, Aperture48);
        var m = a.Attach(Dev());
        SgSegment[] sg = [new(0x1000_0200, 0xe00), new(0x2000_0000, 0x1000), new(0x3000_0000, 0x800)];
        var outp = new SgDmaSegment[3];
        Assert.Equal(1, a.MapSg(m, sg, outp, 0));
        // iova_len 0x3000 -> 3 pages, rounded to 4 by alloc_iova_fast: 0xffffc000; data starts at offset 0x200.
        Assert.Equal(new SgDmaSegment(0xffff_c200, 0x2600), outp[0]);
        a.UnmapSg(outp.AsSpan(0, 1), 0);
        Assert.Equal(1, a.Iovad.CpuCachedCount(0, 2)); // 3 pages free into the order-2 cache
        Assert.Null(a.Iovad.Validate());

        // max_segment_size 0x1000 stops every merge.
        var b = new IommuDmaIovaAllocator(0x1000, 0, Aperture48);
        var bm = b.Attach(Dev(maxSeg: 0x1000));
        Assert.Equal(3, b.MapSg(bm, sg, outp, 0));
        Assert.Equal(new[] { new SgDmaSegment(0xffff_c200, 0xe00), new SgDmaSegment(0xffff_d000, 0x1000), new SgDmaSegment(0xffff_e000, 0x800) }, outp);
    }

    [Fact]
    public void MapSgPadsSegmentsSoNoneCrossesTheSegmentBoundary()
    {
        var a = new IommuDmaIovaAllocator(0x1000, 0, Aperture48);
        var m = a.Attach(Dev(boundary: 0xffff));
        SgSegment[] sg = [new(0x10_0000, 0xc000), new(0x20_0000, 0x8000)];
        var outp = new SgDmaSegment[2];
        // The second segment would cross 64 KiB: the first is padded to 0x10000; iova_len 0x18000 (24 pages,
        // rounded to 32 and aligned to 32 pages).
        Assert.Equal(2, a.MapSg(m, sg, outp, 0));
        Assert.Equal(new SgDmaSegment(0xfffe_0000, 0xc000), outp[0]);
        Assert.Equal(new SgDmaSegment(0xffff_0000, 0x8000), outp[1]);
        Assert.Equal(32UL, a.Iovad.FindIova(0xfffe0).Pages);
    }

    sealed class CountingIommu : IIotlbFlushAll
    {
        public int Flushes;
        public void FlushIotlbAll() => Flushes++;
    }

    [Fact]
    public void LazyDomainHoldsFreedIovasUntilTheFlush()
    {
        var clock = new DmaLab.Sim.SimClock();
        var a = new IommuDmaIovaAllocator(0x1000, 0, Aperture48, clock: clock);
        var iommu = new CountingIommu();
        var fq = a.EnableFlushQueue(iommu);
        var m = a.Attach(Dev());
        var x = a.MapPage(m, 0x1000, 0x1000, m.Device.DmaMask, 0);
        a.Unmap(x, 0x1000, 0, freedTablePages: 1);
        Assert.True(fq.Holds(0xfffff));
        Assert.Equal(0xffff_e000UL, a.MapPage(m, 0x2000, 0x1000, m.Device.DmaMask, 0).Value); // not reused yet
        // 10 ms -> 3 jiffies at HZ=250; the wheel runs a level-0 timer one tick after its expiry: jiffy 4, 16 ms.
        clock.AdvanceTo(15_999_999);
        Assert.Equal(0xffff_d000UL, a.MapPage(m, 0x3000, 0x1000, m.Device.DmaMask, 0).Value);
        clock.AdvanceTo(16_000_000);
        Assert.Equal(0xffff_f000UL, a.MapPage(m, 0x4000, 0x1000, m.Device.DmaMask, 0).Value);
        Assert.Equal(1, iommu.Flushes);
        Assert.Equal(0, fq.Stats.TablePagesHeld);
        Assert.Equal(16_000_000UL, fq.Stats.StaleNsMax);
    }

    [Fact]
    public void A_steered_allocation_takes_the_kernels_range_and_leaves_the_state_the_kernels_answer_would()
    {
        // Two allocators fed the same calls; one is told the kernel's answers. From the tree: the allocator's own range
        // is undone (search hints restored) and the kernel's inserted as the search would have, so the next own answer
        // is the kernel's next; from the range cache: the kernel's range is taken from under the top.
        IommuDmaIovaAllocator New() => new(0x1000, 0, Aperture48);
        var a = New();
        var m = a.Attach(Dev());
        var r = a.AllocIova(m, 0x1000, m.Device.DmaMask, 0);
        Assert.Equal(0xffff_f000UL, r);
        a.Steer = 0xffff_0000;
        Assert.Equal(0xffff_0000UL, a.AllocIova(m, 0x1000, m.Device.DmaMask, 0));
        Assert.Equal(0xffff_e000UL, a.SteeredFrom);
        Assert.Equal(0xffff_0000UL, a.Iovad.Cached32NodePfnLo << 12);
        Assert.Equal(0xfffe_f000UL, a.AllocIova(m, 0x1000, m.Device.DmaMask, 0)); // below the kernel's, as after it
        Assert.Equal(0UL, a.SteeredFrom);

        a.FreeIova(0xffff_f000, 0x1000, 0);
        a.FreeIova(0xfffe_f000, 0x1000, 0);                  // on top of CPU 0's magazine
        a.Steer = 0xffff_f000;
        Assert.Equal(0xffff_f000UL, a.AllocIova(m, 0x1000, m.Device.DmaMask, 0));
        Assert.Equal(0xfffe_f000UL, a.SteeredFrom);
        Assert.Equal(0xfffe_f000UL, a.AllocIova(m, 0x1000, m.Device.DmaMask, 0)); // still cached
        // A steer the allocator agrees with, or one it cannot take (in use), changes nothing.
        a.Steer = 0xffff_0000;
        Assert.NotEqual(0xffff_0000UL, a.AllocIova(m, 0x1000, m.Device.DmaMask, 0));
        Assert.Equal(0UL, a.SteeredFrom);
        Assert.Null(a.Iovad.Validate());
    }
}
