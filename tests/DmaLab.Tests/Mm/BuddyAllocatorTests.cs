using CsCheck;
using DmaLab.Mm;
using DmaLab.Sim;
using static DmaLab.Tests.Mm.MmTestPlatforms;

namespace DmaLab.Tests.Mm;

public class BuddyAllocatorTests
{
    // 16 MiB + 36 KiB of DRAM starting at an odd pfn: buddies at the edges have no partner.
    static MemorySystem Odd() => new(X86((0x10_9000, 16 * MiB + 0x9000)));

    [Fact]
    public void BootBuddyinfoIsTheAlignedDecomposition()
    {
        var m = new MemorySystem(X86((0x10_0000, 16 * MiB - 0x10_0000)));
        // [1 MiB, 16 MiB): 256 order-8... decomposed greedily: 1 MiB (order 8) at 1 MiB, 2 MiB block split as 4 MiB alignment allows.
        Assert.Equal("Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n", m.PageAllocator.BuddyInfo());
        m.PageAllocator.Validate();
    }

    [Fact]
    public void SplitTakesTheLowestPagesAndMergeRestores()
    {
        var m = new MemorySystem(X86((0x40_0000, 4 * MiB)));
        var pa = m.PageAllocator;
        Assert.True(pa.TryAllocPages(0, Gfp.Kernel, out var p));
        Assert.Equal(0x40_0000UL, p.Value);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, pa.Zone(ZoneType.Dma).FreeCounts());
        Assert.True(pa.TryAllocPages(0, Gfp.Kernel, out var q));
        Assert.Equal(0x40_1000UL, q.Value);                  // the order-0 buddy left by expand()
        pa.FreePages(p, 0);
        pa.FreePages(q, 0);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, pa.Zone(ZoneType.Dma).FreeCounts());
        pa.Validate();
    }

    [Fact]
    public void BadFreeIsADmaLabBug()
    {
        var m = new MemorySystem(X86((0x40_0000, 4 * MiB)));
        Assert.True(m.PageAllocator.TryAllocPages(2, Gfp.Kernel, out var p));
        Assert.Throws<InvalidOperationException>(() => m.PageAllocator.FreePages(p, 1));
        Assert.Throws<InvalidOperationException>(() => m.PageAllocator.FreePages(p + 0x1000, 0));
        m.PageAllocator.FreePages(p, 2);
        Assert.Throws<InvalidOperationException>(() => m.PageAllocator.FreePages(p, 2));
    }

    [Fact]
    public void RandomAllocFreeNeverOverlapsAndFreeAllRestoresBuddyinfo()
    {
        Gen.Select(Gen.UInt, Gen.Int[1, 400]).Sample((seed, steps) =>
        {
            var m = Odd();
            var pa = m.PageAllocator;
            string initial = pa.BuddyInfo();
            var rng = new Rng(seed);
            var live = new List<(ulong Start, int Order)>();
            var owned = new SortedDictionary<ulong, ulong>();          // reference: start → end of every live block
            for (int i = 0; i < steps; i++)
            {
                if (live.Count > 0 && rng.Chance(0.45))
                {
                    int k = (int)rng.Next((ulong)live.Count);
                    var (s, o) = live[k];
                    live[k] = live[^1]; live.RemoveAt(live.Count - 1);
                    owned.Remove(s);
                    pa.FreePages(new PhysAddr(s), o);
                    continue;
                }
                int order = rng.Chance(0.6) ? 0 : rng.Next(0, 11);
                long freeBefore = pa.FreePageCount;
                if (!pa.TryAllocPages(order, Gfp.Kernel | Gfp.NoWarn, out var p)) continue;
                ulong size = PhysAddr.PageSize << order;
                Assert.Equal(0UL, p.Value & (size - 1));              // naturally aligned
                Assert.True(m.Memory.IsDram(p, size));
                foreach (var (s, e) in owned) Assert.False(p.Value < e && s < p.Value + size, $"{p} order {order} overlaps [{s:x},{e:x})");
                Assert.Equal(freeBefore - (1L << order), pa.FreePageCount);
                owned[p.Value] = p.Value + size;
                live.Add((p.Value, order));
            }
            pa.Validate();
            foreach (var (s, o) in live) pa.FreePages(new PhysAddr(s), o);
            Assert.Equal(initial, pa.BuddyInfo());
            Assert.Equal(0, pa.PagesInUse);
            pa.Validate();
        }, iter: 60, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void FragmentationFailsHighOrderWithPlentyFree()
    {
        var m = new MemorySystem(X86((0x10_0000, 64 * MiB - 0x10_0000)));
        var pa = m.PageAllocator;
        string initial = pa.BuddyInfo();
        var frag = FragmentationScenario.Run(pa, Gfp.Kernel, new Rng(42), freeFraction: 0.5);
        long free = pa.FreePageCount;
        Assert.InRange(free, 7000, 9000);                          // about half of 16128 pages
        Assert.False(pa.TryAllocPages(4, Gfp.Kernel, out _));       // 64 KiB: 16 aligned free pages in a row never happen
        var w = Assert.Single(pa.Warnings);
        Assert.Equal("page allocation failure: order:4, mode:0xcc0(GFP_KERNEL), nodemask=(null)", w.Message);
        Assert.True(pa.TryAllocPages(0, Gfp.Kernel, out var one));
        pa.FreePages(one, 0);
        pa.Validate();
        frag.Release();
        Assert.Equal(initial, pa.BuddyInfo());

        // Same seed, same layout: the scenario is reproducible.
        var again = new MemorySystem(X86((0x10_0000, 64 * MiB - 0x10_0000)));
        var frag2 = FragmentationScenario.Run(again.PageAllocator, Gfp.Kernel, new Rng(42), 0.5);
        Assert.Equal(free, again.PageAllocator.FreePageCount);
        Assert.Equal(frag2.Held.Count, m.PageAllocator.ManagedPages - free);
    }

    [Fact]
    public void OrderAboveMaxFailsQuietlyWithoutAWarning()
    {
        var m = new MemorySystem(X86((0x10_0000, 64 * MiB - 0x10_0000)));
        Assert.False(m.PageAllocator.TryAllocPages(11, Gfp.Kernel, out _));
        Assert.Empty(m.PageAllocator.Warnings);
    }
}
