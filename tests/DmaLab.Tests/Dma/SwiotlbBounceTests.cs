using DmaLab.Dma;
using DmaLab.Mm;
using static DmaLab.Tests.Dma.SwiotlbPoolTests;

namespace DmaLab.Tests.Dma;

/// <summary>
/// Byte-exact bounce copies per direction (Linux 6.12 kernel/dma/swiotlb.c: swiotlb_tbl_map_single copies
/// DMA_TO_DEVICE for every direction, __swiotlb_tbl_unmap_single copies back for FROM_DEVICE/BIDIRECTIONAL
/// unless DMA_ATTR_SKIP_CPU_SYNC, __swiotlb_sync_single_for_device/cpu, swiotlb_bounce's offset arithmetic).
/// </summary>
public class SwiotlbBounceTests
{
    static byte[] Pattern(int n, int seed) => Enumerable.Range(0, n).Select(i => (byte)(i * 31 + seed)).ToArray();

    static byte[] Read(PhysicalMemory mem, ulong addr, int n)
    {
        var b = new byte[n];
        Assert.Equal(MemAccess.Ok, mem.Read(new PhysAddr(addr), b));
        return b;
    }

    [Fact]
    public void ToDeviceCopiesInAndNeverBack()
    {
        var mem = Memory();
        var pool = Pool(mem);
        var dev = Dev();
        var data = Pattern(5000, 1);
        const ulong orig = 0x2000_0f00;                    // crosses two page boundaries
        mem.Write(new PhysAddr(orig), data);
        var tlb = pool.TblMapSingle(dev, new PhysAddr(orig), 5000, 0, DmaDirection.ToDevice, 0, 0);
        Assert.Equal(data, Read(mem, tlb.Value, 5000));
        mem.Fill(tlb, 5000, 0xee);                         // the device scribbles on the slot
        pool.TblUnmapSingle(dev, tlb, 5000, DmaDirection.ToDevice, 0);
        Assert.Equal(data, Read(mem, orig, 5000));
        Assert.Equal((5000UL, 0UL), (pool.Stats.BouncedBytesToDevice, pool.Stats.BouncedBytesFromDevice));
    }

    [Fact]
    public void FromDevicePrefillsTheSlotSoPartialWritesKeepTheRest()
    {
        var mem = Memory();
        var pool = Pool(mem);
        var dev = Dev();
        var old = Pattern(4096, 7);
        const ulong orig = 0x2000_3000;
        mem.Write(new PhysAddr(orig), old);
        var tlb = pool.TblMapSingle(dev, new PhysAddr(orig), 4096, 0, DmaDirection.FromDevice, 0, 0);
        Assert.Equal(old, Read(mem, tlb.Value, 4096));     // no stale bounce data reaches the device
        var written = Pattern(1000, 99);
        mem.Write(tlb + 100, written);                     // device writes 1000 bytes at offset 100 only
        pool.TblUnmapSingle(dev, tlb, 4096, DmaDirection.FromDevice, 0);
        var expect = (byte[])old.Clone();
        written.CopyTo(expect, 100);
        Assert.Equal(expect, Read(mem, orig, 4096));
        Assert.Equal((4096UL, 4096UL), (pool.Stats.BouncedBytesToDevice, pool.Stats.BouncedBytesFromDevice));
    }

    [Fact]
    public void BidirectionalCopiesBothWaysAndSkipCpuSyncSkipsTheCopyBack()
    {
        var mem = Memory();
        var pool = Pool(mem);
        var dev = Dev();
        const ulong orig = 0x2000_8000;
        mem.Write(new PhysAddr(orig), Pattern(3000, 3));
        var tlb = pool.TblMapSingle(dev, new PhysAddr(orig), 3000, 0, DmaDirection.Bidirectional, 0, 0);
        Assert.Equal(Pattern(3000, 3), Read(mem, tlb.Value, 3000));
        mem.Write(tlb, Pattern(3000, 4));
        pool.TblUnmapSingle(dev, tlb, 3000, DmaDirection.Bidirectional, 0);
        Assert.Equal(Pattern(3000, 4), Read(mem, orig, 3000));

        var tlb2 = pool.TblMapSingle(dev, new PhysAddr(orig), 3000, 0, DmaDirection.Bidirectional, 0, 0);
        mem.Write(tlb2, Pattern(3000, 5));
        pool.TblUnmapSingle(dev, tlb2, 3000, DmaDirection.Bidirectional, DmaAttrs.SkipCpuSync);
        Assert.Equal(Pattern(3000, 4), Read(mem, orig, 3000));
    }

    [Fact]
    public void SyncsCopyByDirectionAndSubRangesLandAtTheRightOffset()
    {
        var mem = Memory();
        var pool = Pool(mem);
        var nvme = Dev("0000:00:04.0", 0xfff);
        const ulong orig = 0x2000_0a40;                    // min_align offset 0x240 inside the slot
        mem.Write(new PhysAddr(orig), Pattern(6000, 10));
        var tlb = pool.TblMapSingle(nvme, new PhysAddr(orig), 6000, 0, DmaDirection.FromDevice, 0, 0);
        Assert.Equal(0xa40UL, tlb.Value & 0xfff);

        Assert.Equal(orig, pool.OriginalAddress(nvme, tlb).Value);
        Assert.Equal(orig + 3000, pool.OriginalAddress(nvme, tlb + 3000).Value);
        Assert.Equal(Swiotlb.MappingErrorPhys, pool.OriginalAddress(nvme, new PhysAddr(PoolBase + 0x10000)).Value);

        // Device writes at bounce offset 3000 (second slot); a partial sync_for_cpu of that range copies only it.
        mem.Write(tlb + 3000, Pattern(100, 20));
        Assert.True(pool.SyncSingleForCpu(nvme, tlb + 3000, 100, DmaDirection.FromDevice));
        var expect = Pattern(6000, 10);
        Pattern(100, 20).CopyTo(expect, 3000);
        Assert.Equal(expect, Read(mem, orig, 6000));

        // sync_for_device with FROM_DEVICE copies nothing; with BIDIRECTIONAL the CPU's bytes go to the slot.
        mem.Write(new PhysAddr(orig), Pattern(50, 30));
        pool.SyncSingleForDevice(nvme, tlb, 50, DmaDirection.FromDevice);
        Assert.Equal(expect[..50], Read(mem, tlb.Value, 50));
        pool.SyncSingleForDevice(nvme, tlb, 50, DmaDirection.Bidirectional);
        Assert.Equal(Pattern(50, 30), Read(mem, tlb.Value, 50));

        // sync_for_cpu with TO_DEVICE copies nothing; DMA_NONE is the kernel's BUG_ON, kept as a finding.
        ulong before = pool.Stats.BouncedBytesFromDevice;
        pool.SyncSingleForCpu(nvme, tlb, 50, DmaDirection.ToDevice);
        Assert.Equal(before, pool.Stats.BouncedBytesFromDevice);
        pool.SyncSingleForCpu(nvme, tlb, 50, DmaDirection.None);
        Assert.Contains(pool.Findings, f => f.Kind == "swiotlb-sync-bad-direction");

        // Addresses outside the pool are not bounce buffers: syncs and unmaps leave them alone.
        Assert.False(pool.SyncSingleForCpu(nvme, new PhysAddr(orig), 10, DmaDirection.FromDevice));
        Assert.False(pool.TblUnmapSingle(nvme, new PhysAddr(orig), 10, DmaDirection.FromDevice, 0));
    }

    [Fact]
    public void SyncPastTheMappingIsCutToTheAllocation()
    {
        var mem = Memory();
        var pool = Pool(mem);
        var dev = Dev();
        var tlb = pool.TblMapSingle(dev, new PhysAddr(0x2000_0000), 1000, 0, DmaDirection.FromDevice, 0, 0);
        // alloc_size is 1000: a 4000-byte sync copies 1000 and reports "Buffer overflow detected" once.
        Assert.True(pool.SyncSingleForCpu(dev, tlb, 4000, DmaDirection.FromDevice));
        Assert.Equal(1000UL, pool.Stats.BouncedBytesFromDevice);
        Assert.Equal(1UL, pool.Stats.Overflows);
        Assert.Contains(pool.Findings, f => f.Kind == "swiotlb-buffer-overflow");
    }

    [Fact]
    public void UnwrittenOriginalOverwritesOldSlotContentsWithZeros()
    {
        // A two-slot pool: the second 4 KiB mapping reuses the slots of the first (index wraps to 0).
        var mem = Memory();
        var pool = Pool(mem, slots: 2);
        var dev = Dev();
        mem.Write(new PhysAddr(0x2000_0000), Pattern(4096, 1));
        var t1 = pool.TblMapSingle(dev, new PhysAddr(0x2000_0000), 4096, 0, DmaDirection.ToDevice, 0, 0);
        pool.TblUnmapSingle(dev, t1, 4096, DmaDirection.ToDevice, 0);
        var t2 = pool.TblMapSingle(dev, new PhysAddr(0x3000_0000), 4096, 0, DmaDirection.ToDevice, 0, 0);
        Assert.Equal(t1, t2);
        Assert.Equal(new byte[4096], Read(mem, t2.Value, 4096));
    }

    [Fact]
    public void ReleasingAFreeSlotIsRefusedAsAFinding()
    {
        var pool = Pool(Memory());
        var dev = Dev();
        var tlb = pool.TblMapSingle(dev, new PhysAddr(0x2000_0000), 100, 0, DmaDirection.ToDevice, 0, 0);
        Assert.True(pool.TblUnmapSingle(dev, tlb, 100, DmaDirection.ToDevice, 0));
        Assert.True(pool.TblUnmapSingle(dev, tlb, 100, DmaDirection.ToDevice, 0));
        Assert.Contains(pool.Findings, f => f.Kind == "swiotlb-release-free-slot");
        Assert.Null(pool.Validate());
    }
}
