using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.Dma;

/// <summary>
/// Slot choices, free-run counters, failures and limits worked out by hand from Linux 6.12
/// kernel/dma/swiotlb.c (swiotlb_search_pool_area, swiotlb_tbl_map_single, swiotlb_release_slots,
/// swiotlb_find_slots, swiotlb_max_mapping_size); the comment on each step gives the derivation.
/// </summary>
public class SwiotlbPoolTests
{
    internal const ulong PoolBase = 0x0800_0000;

    internal static PhysicalMemory Memory() => new([new MemRange(new PhysAddr(0), 0x4000_0000)]);

    internal static SwiotlbPool Pool(PhysicalMemory mem, ulong slots = 512, int areas = 1, bool force = true) =>
        new(mem, new MemRange(new PhysAddr(PoolBase), slots << Swiotlb.IoTlbShift), areas, SwiotlbPoolKind.Default, force);

    internal static Device Dev(string name = "0000:00:05.0", ulong minAlign = 0, int maskBits = 64) =>
        new(new DeviceSpec { Name = name, Bus = "pci", DmaMask = maskBits, MinAlignMask = minAlign, SegmentBoundary = 0xffff_ffff });

    static ulong Slot(PhysAddr tlb) => (tlb.Value - PoolBase) >> Swiotlb.IoTlbShift;

    [Fact]
    public void SlotSequenceFollowsStrideAndAlignmentRules()
    {
        var mem = Memory();
        var pool = Pool(mem);
        var nic = Dev();
        var nvme = Dev("0000:00:04.0", 0xfff);

        // 100 bytes, no masks: iotlb_align_mask 0, alloc_align_mask becomes 0x7ff, stride 1, index 0 -> slot 0.
        var a = pool.TblMapSingle(nic, new PhysAddr(0x2000_0123), 100, 0, DmaDirection.ToDevice, 0, 0);
        Assert.Equal(PoolBase, a.Value);
        // 4096 bytes, no masks: >= PAGE_SIZE so alloc_align_mask = 0xfff, stride 2; slot 1 is not page aligned,
        // slot 2 is -> slots 2..3; the free slot 1 before it is renumbered to a run of 1.
        var b = pool.TblMapSingle(nic, new PhysAddr(0x2000_5000), 4096, 0, DmaDirection.ToDevice, 0, 0);
        Assert.Equal(2UL, Slot(b));
        Assert.Equal(1, pool.Slots[1].List);
        // 3000 bytes: two slots, slot aligned only; the search resumes at area->index 4.
        var c = pool.TblMapSingle(nic, new PhysAddr(0x2000_9000), 3000, 0, DmaDirection.ToDevice, 0, 0);
        Assert.Equal(4UL, Slot(c));
        // NVMe (min_align_mask 0xfff), 512 bytes at ...a00: offset 0x200 inside the slot, bit 11 of the original
        // is 1, so iotlb_align_mask 0x800 and stride 2: slot 6 has bit 11 = 0 (stepped by 1), slot 7 matches.
        var d = pool.TblMapSingle(nvme, new PhysAddr(0x3000_0a00), 512, 0, DmaDirection.ToDevice, 0, 0);
        Assert.Equal(PoolBase + 0x3a00, d.Value);
        Assert.Equal(0xa00UL, d.Value & 0xfff);
        Assert.Equal(1, pool.Slots[6].List);
        // alloc_align_mask 16 KiB-1: size ALIGN(2048, 16 KiB) = 8 slots, stride 8; slot 8 is 16 KiB aligned.
        var e = pool.TblMapSingle(nic, new PhysAddr(0x2001_0000), 2048, 0x3fff, DmaDirection.ToDevice, 0, 0);
        Assert.Equal(8UL, Slot(e));
        Assert.Contains(pool.Findings, f => f.Kind == "swiotlb-alloc-align-warn");

        ushort[] expected = [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 112, 111];
        Assert.Equal(expected, pool.Slots[..18].ToArray().Select(s => s.List).ToArray());
        Assert.Equal(16u, pool.AreaStates[0].Index);
        Assert.Equal(14UL, pool.Stats.UsedSlots);     // 1 + 2 + 2 + 1 + 8
        // alloc_size per slot: allocation size less the min_align offset and the slots before it.
        Assert.Equal(4096UL, pool.Slots[2].AllocSize);
        Assert.Equal(2048UL, pool.Slots[3].AllocSize);
        Assert.Equal(0x2000_9000UL + 2048, pool.Slots[5].OrigAddr);
        Assert.Equal(1024UL - 0x200, pool.Slots[7].AllocSize);
        Assert.Null(pool.Validate());

        // Release of the NVMe slot: the run after it is used (count 0), so slot 7 = 1, and the free slot 6 before
        // it becomes 2. Releasing the 8-slot block then merges with slot 16's run (112) and renumbers 7 and 6.
        Assert.True(pool.TblUnmapSingle(nvme, d, 512, DmaDirection.ToDevice, 0));
        Assert.Equal((2, 1), (pool.Slots[6].List, pool.Slots[7].List));
        Assert.True(pool.TblUnmapSingle(nic, e, 2048, DmaDirection.ToDevice, 0));
        Assert.Equal(new ushort[] { 122, 121, 120, 119 }, pool.Slots[6..10].ToArray().Select(s => s.List).ToArray());
        Assert.Equal(113, pool.Slots[15].List);
        Assert.Equal(Swiotlb.InvalidPhysAddr, pool.Slots[7].OrigAddr);
        Assert.Null(pool.Validate());
    }

    [Fact]
    public void PadSlotsKeepMinAlignBitsBeyondTheSlotSize()
    {
        // iommu-dma style: min_align_mask 0xfff with alloc_align_mask 0xfff. Offset = 0xc40 (>= 2 KiB), so the
        // allocation is ALIGN(100 + 0xc40, 4 KiB) = 2 page-aligned slots, one of them a padding slot.
        var pool = Pool(Memory());
        var dev = Dev("0000:00:04.0", 0xfff);
        pool.TblMapSingle(dev, new PhysAddr(0x2000_0000), 100, 0, DmaDirection.ToDevice, 0, 0);   // slot 0, index 1
        var t = pool.TblMapSingle(dev, new PhysAddr(0x2000_0c40), 100, 0xfff, DmaDirection.ToDevice, 0, 0);
        // Search from index 1: alloc_align_mask 0xfff needs a page-aligned slot -> 2; pad 1 -> data in slot 3.
        Assert.Equal(PoolBase + 0x1000 + 0xc40, t.Value);
        Assert.Equal(1, pool.Slots[3].PadSlots);
        Assert.Equal(Swiotlb.InvalidPhysAddr, pool.Slots[2].OrigAddr);
        Assert.Equal(0x2000_0c40UL, pool.Slots[3].OrigAddr);
        Assert.Equal(0x1000UL - 0x440, pool.Slots[2].AllocSize);
        Assert.Equal(0x1000UL - 0x440 - 0x800, pool.Slots[3].AllocSize);
        // Release walks back over the padding slot and frees both.
        Assert.True(pool.TblUnmapSingle(dev, t, 100, DmaDirection.ToDevice, 0));
        Assert.Equal(1UL, pool.Stats.UsedSlots);
        Assert.Null(pool.Validate());
    }

    [Fact]
    public void FullPoolFailsWithTheKernelsNumbers()
    {
        var pool = Pool(Memory());      // 512 slots = 4 segments
        var dev = Dev();
        Assert.Equal(0UL, Slot(pool.TblMapSingle(dev, new PhysAddr(0x2000_0000), 100, 0, DmaDirection.ToDevice, 0, 0)));
        // 256 KiB needs a whole free segment: slot 0 is used, so segments 1..3.
        for (ulong s = 1; s <= 3; s++)
            Assert.Equal(s * 128, Slot(pool.TblMapSingle(dev, new PhysAddr(0x2100_0000 + s * 0x40000), 0x40000, 0, DmaDirection.ToDevice, 0, 0)));
        // 127 slots are free but no segment is: the search fails.
        var dma = pool.Map(dev, new PhysAddr(0x2200_0000), 0x40000, DmaDirection.FromDevice, DmaAttrs.None, 0);
        Assert.Equal(DmaAddr.MappingError, dma);
        var full = Assert.Single(pool.Failures);
        Assert.Equal("swiotlb buffer is full (sz: 262144 bytes), total 512 (slots), used 385 (slots)", full.Message);
        Assert.False(full.NoWarn);
        // Over one segment is refused outright (dynamic swiotlb_find_slots), and NO_WARN is recorded.
        Assert.True(pool.Map(dev, new PhysAddr(0x2200_0000), 300000, DmaDirection.ToDevice, DmaAttrs.NoWarn, 0).IsError);
        Assert.Equal("swiotlb buffer is full (sz: 300000 bytes), total 512 (slots), used 385 (slots)", pool.Failures[1].Message);
        Assert.True(pool.Failures[1].NoWarn);
        // Fill everything: each further 2 KiB mapping takes one slot until area->used reaches nslabs.
        int n = 0;
        while (!pool.Map(dev, new PhysAddr(0x2300_0000 + (ulong)n * 0x1000), 2048, DmaDirection.ToDevice, 0, 0).IsError) n++;
        Assert.Equal(127, n);
        Assert.Equal("swiotlb buffer is full (sz: 2048 bytes), total 512 (slots), used 512 (slots)", pool.Failures[^1].Message);
        Assert.Equal(3UL, pool.Stats.Failures);
        Assert.Equal(pool.Failures[^1], pool.LastFailure);
        // A zero-length mapping is the kernel's BUG_ON(!nslots): refused and reported, the pool untouched.
        Assert.True(pool.Map(dev, new PhysAddr(0x2400_0000), 0, DmaDirection.ToDevice, 0, 0).IsError);
        Assert.Contains(pool.Findings, f => f.Kind == "swiotlb-zero-size");
        Assert.Equal(3UL, pool.Stats.Failures);
        Assert.Equal(512UL, pool.Stats.UsedHiwater);
        Assert.Null(pool.Validate());
    }

    [Theory]
    [InlineData(0UL, 262144UL)]
    [InlineData(0x7ffUL, 260096UL)]
    [InlineData(0xfffUL, 258048UL)]
    [InlineData(0x1fffUL, 253952UL)]
    public void MaxMappingSizeIsOneSegmentLessMinAlign(ulong minAlign, ulong expected)
    {
        Assert.Equal(expected, SwiotlbPool.MaxMappingSize(Dev(minAlign: minAlign)));
        // And a mapping of exactly that size at the worst in-slot offset still fits.
        var pool = Pool(Memory());
        var t = pool.TblMapSingle(Dev(minAlign: minAlign), new PhysAddr(0x2000_0000 + (minAlign & 0x7ff)), expected, 0, DmaDirection.ToDevice, 0, 0);
        Assert.NotEqual(Swiotlb.MappingErrorPhys, t.Value);
        Assert.Equal(0x2000_0000 + (minAlign & 0x7ff) & minAlign, t.Value & minAlign);
    }

    [Fact]
    public void SearchStartsInTheCpusAreaAndFallsBackInOrder()
    {
        var pool = Pool(Memory(), slots: 512, areas: 4);   // 4 areas of 128 slots
        var dev = Dev();
        Assert.Equal(128u, pool.AreaSlots);
        // cpu 5 & (4 - 1) = area 1.
        Assert.Equal(128UL, Slot(pool.TblMapSingle(dev, new PhysAddr(0x2000_0000), 100, 0, DmaDirection.ToDevice, 0, 5)));
        // Area 1 has 127 free slots: a 128-slot request skips it (nslots > area_nslabs - used) -> area 2.
        Assert.Equal(256UL, Slot(pool.TblMapSingle(dev, new PhysAddr(0x2010_0000), 0x40000, 0, DmaDirection.ToDevice, 0, 1)));
        Assert.Equal(384UL, Slot(pool.TblMapSingle(dev, new PhysAddr(0x2020_0000), 0x40000, 0, DmaDirection.ToDevice, 0, 1)));
        // Areas 1..3 cannot take it: wrap to area 0.
        Assert.Equal(0UL, Slot(pool.TblMapSingle(dev, new PhysAddr(0x2030_0000), 0x40000, 0, DmaDirection.ToDevice, 0, 1)));
        Assert.Equal(new ulong[] { 128, 1, 128, 128 }, pool.AreaStates.ToArray().Select(a => a.Used).ToArray());
        // An area's index wraps to 0 (not modulo) when the allocation reaches its end.
        Assert.Equal(0u, pool.AreaStates[2].Index);
        Assert.True(pool.Map(dev, new PhysAddr(0x2040_0000), 0x40000, DmaDirection.ToDevice, 0, 3).IsError);
        Assert.Null(pool.Validate());
    }

    [Fact]
    public void SwiotlbMapHonoursDmaRangesAndTheDevicesReach()
    {
        var mem = Memory();
        var pool = Pool(mem);
        // dma-ranges: bus 0x0 reaches CPU 0x0800_0000 (the pool) for 256 MiB.
        var spec = new DeviceSpec { Name = "soc:dev", DmaMask = 32, DmaRanges = { new DmaRangeSpec { BusAddr = 0, CpuAddr = 0x0800_0000, Size = 0x1000_0000 } } };
        var dev = new Device(spec);
        var dma = pool.Map(dev, new PhysAddr(0x0900_0000), 4096, DmaDirection.ToDevice, 0, 0, out var tlb);
        Assert.Equal(0UL, dma.Value);
        Assert.Equal(PoolBase, tlb.Value);

        // A 24-bit device cannot reach a pool at 128 MiB: swiotlb_map undoes the mapping and fails (WARN).
        var small = Dev(maskBits: 24);
        Assert.Equal(DmaAddr.MappingError, pool.Map(small, new PhysAddr(0x1000), 64, DmaDirection.ToDevice, 0, 0));
        Assert.Contains(pool.Findings, f => f.Kind == "swiotlb-addr-overflow");
        Assert.Equal(2UL, pool.Stats.UsedSlots);   // the first mapping's 2 slots only
        Assert.Null(pool.Validate());
    }

    [Fact]
    public void BoundaryMaskKeepsAllocationsInsideOneWindow()
    {
        // seg boundary 64 KiB-1: max_slots 32, so a 3-slot request may not start at slot 30 or 31 of a window.
        var pool = Pool(Memory());
        var dev = new Device(new DeviceSpec { Name = "d", DmaMask = 64, SegmentBoundary = 0xffff });
        for (int i = 0; i < 30; i++) pool.TblMapSingle(dev, new PhysAddr(0x2000_0000 + (ulong)i * 0x1000), 100, 0, DmaDirection.ToDevice, 0, 0);
        var t = pool.TblMapSingle(dev, new PhysAddr(0x2100_0000), 5000, 0, DmaDirection.ToDevice, 0, 0);
        // 5000 bytes >= PAGE_SIZE: page aligned, stride 2; slot 30 would cross the 64 KiB boundary -> 32.
        Assert.Equal(32UL, Slot(t));
        Assert.Null(pool.Validate());
    }
}
