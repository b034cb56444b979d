using DmaLab.Iova;
using DmaLab.Sim;

namespace DmaLab.Tests.Iova;

/// <summary>Golden sequences worked out by hand from drivers/iommu/iova.c.</summary>
public class IovaDomainTests
{
    const ulong Limit32 = 0xfffff; // DMA_BIT_MASK(32) >> 12

    static IovaDomain Fresh(ulong startPfn = 1, int cpus = 1, SimClock? clock = null) => new(4096, startPfn, cpus, clock);

    [Fact]
    public void FreshDomainAllocatesTopDownWithSizeAlignment()
    {
        var d = Fresh();
        Assert.Equal(0x100000UL, d.Dma32BitPfn);
        Assert.Equal(0xfffffUL, d.AllocIova(1, Limit32, true).PfnLo);
        // (0xfffff - 4) & ~3: the 4-page range is aligned to 4 pages.
        var four = d.AllocIova(4, Limit32, true);
        Assert.Equal((0xffff8UL, 0xffffbUL), (four.PfnLo, four.PfnHi));
        Assert.Equal(four, d.FindIova(0xffff9));
        Assert.Equal(0xffff4UL, d.AllocIova(3, Limit32, true).PfnLo);   // 3 pages aligned to 4: (0xffff8 - 3) & ~3
        Assert.Equal(0xffff1UL, d.AllocIova(3, Limit32, false).PfnLo);  // unaligned: right below
        Assert.Equal(0xffff1UL, d.Cached32NodePfnLo);
        Assert.Equal(IovaDomain.IovaAnchor, d.CachedNodePfnLo);
        // Above 4 GiB the search starts at cached_node (the anchor).
        var hi = d.AllocIova(1, (1UL << 36) - 1, true);
        Assert.Equal((1UL << 36) - 1, hi.PfnLo);
        Assert.Equal(hi.PfnLo, d.CachedNodePfnLo);
        Assert.Null(d.Validate());
    }

    [Fact]
    public void FreeMovesCached32NodeUpSoFreedSpaceIsReusedFirst()
    {
        var d = Fresh();
        d.AllocIova(1, Limit32, true);                  // 0xfffff
        var four = d.AllocIova(4, Limit32, true);       // 0xffff8
        d.AllocIova(4, Limit32, true);                  // 0xffff4
        Assert.Equal(0xffff4UL, d.Cached32NodePfnLo);
        d.FreeIova(four);
        // __cached_rbnode_delete_update: the freed range lies above cached32 -> cached32 = rb_next(freed) = 0xfffff.
        Assert.Equal(0xfffffUL, d.Cached32NodePfnLo);
        Assert.Equal(0xffffcUL, d.AllocIova(2, Limit32, true).PfnLo);
        Assert.Equal(0xffffaUL, d.AllocIova(2, Limit32, true).PfnLo);
        Assert.Equal(0xffff8UL, d.AllocIova(2, Limit32, true).PfnLo);
        Assert.Equal(0xffff2UL, d.AllocIova(2, Limit32, true).PfnLo);
        Assert.Null(d.Validate());
    }

    [Fact]
    public void ExhaustedBelow4GSetsMax32AllocSizeAndAFreeClearsIt()
    {
        var d = Fresh(startPfn: 0xffff0);
        var a = d.AllocIova(8, Limit32, true);
        Assert.Equal(0xffff8UL, a.PfnLo);
        Assert.Equal(0xffff0UL, d.AllocIova(8, Limit32, true).PfnLo);
        long steps = d.Stats.SearchSteps;
        Assert.True(d.AllocIova(8, Limit32, true).IsNull); // fails after the retry from the limit
        Assert.Equal(8UL, d.Max32AllocSize);
        Assert.True(d.Stats.SearchSteps > steps);
        steps = d.Stats.SearchSteps;
        Assert.True(d.AllocIova(16, Limit32, true).IsNull); // size >= max32_alloc_size: no search at all
        Assert.Equal(steps, d.Stats.SearchSteps);
        Assert.True(d.AllocIova(1, Limit32, true).IsNull);
        Assert.Equal(1UL, d.Max32AllocSize);
        d.FreeIova(a.PfnLo + 3); // free_iova by any pfn inside the range
        Assert.Equal(d.Dma32BitPfn, d.Max32AllocSize);
        Assert.Equal(0xffffcUL, d.AllocIova(4, Limit32, true).PfnLo);
        Assert.Equal(0xffff8UL, d.AllocIova(4, Limit32, true).PfnLo);
        Assert.Null(d.Validate());
    }

    [Fact]
    public void RetryFromTheLimitFindsSpaceAboveTheCachedNode()
    {
        var d = Fresh(startPfn: 0xfff00);
        var top = d.AllocIova(0x80, Limit32, true);      // [0xfff80, 0xfffff]
        d.AllocIova(0x80, Limit32, true);                // [0xfff00, 0xfff7f] fills the space
        d.FreeIova(top);                                 // cached32 moves to the anchor
        d.AllocIova(0x40, Limit32, true);                // [0xfffc0, 0xfffff]
        d.AllocIova(0x20, Limit32, true);                // [0xfffa0, 0xfffbf]; cached32 = this node
        var mid = d.FindIova(0xfffc0);
        d.FreeIova(mid);                                 // freed above cached32: cached32 -> anchor again
        // Next 0x40 fits only at 0xfffc0; found directly from the anchor.
        Assert.Equal(0xfffc0UL, d.AllocIova(0x40, Limit32, true).PfnLo);
        // Now cached32 is 0xfffc0 and only [0xfff80, 0xfff9f] is free below it.
        Assert.Equal(0xfff80UL, d.AllocIova(0x20, Limit32, true).PfnLo);
        Assert.True(d.AllocIova(1, Limit32, true).IsNull);
        Assert.Null(d.Validate());
    }

    [Fact]
    public void ReserveIovaMergesDownwardsAndInsertsOnlyTheUncoveredRemainder()
    {
        var d = Fresh();
        var r = d.ReserveIova(0x100, 0x1ff);
        Assert.Equal((0x100UL, 0x1ffUL), (r.PfnLo, r.PfnHi));
        Assert.Equal(r.Node, d.ReserveIova(0x150, 0x160).Node);   // already covered: the same node comes back
        var widened = d.ReserveIova(0x80, 0x120);                 // extends the existing node down
        Assert.Equal((0x80UL, 0x1ffUL), (widened.PfnLo, widened.PfnHi));
        Assert.Equal(r.Node, widened.Node);
        Assert.Equal(widened, d.FindIova(0x80));                  // found by its new pfn_lo
        Assert.Equal(widened, d.FindIova(0x100));                 // and by its old one, now inside the range
        var rest = d.ReserveIova(0x1f0, 0x300);                   // only [0x200, 0x300] is new
        Assert.Equal((0x200UL, 0x300UL), (rest.PfnLo, rest.PfnHi));
        Assert.Equal(new[] { (0x80UL, 0x1ffUL), (0x200UL, 0x300UL) }, d.Ranges().Select(x => (x.PfnLo, x.PfnHi)));
        Assert.True(d.ReserveIova(0, ulong.MaxValue).IsNull);     // beyond the address width: WARN_ON, NULL
        Assert.Null(d.Validate());
    }

    [Fact]
    public void AllocationsSkipReservedRanges()
    {
        var d = Fresh();
        d.ReserveIova(0xfee00, 0xfeeff);  // the VT-d IOAPIC window
        d.ReserveIova(0xc0000, 0xfebff);  // a PCI MMIO window
        for (ulong p = 0xfffff; p >= 0xfef00; p -= 0x100)
            Assert.Equal(p - 0xff, d.AllocIova(0x100, Limit32, true).PfnLo);
        // [0xfec00, 0xfedff] is the only hole left above 0xc0000.
        Assert.Equal(0xfed00UL, d.AllocIova(0x100, Limit32, true).PfnLo);
        Assert.Equal(0xfec00UL, d.AllocIova(0x100, Limit32, true).PfnLo);
        Assert.Equal(0xbff00UL, d.AllocIova(0x100, Limit32, true).PfnLo);
        Assert.Null(d.Validate());
    }

    [Fact]
    public void FastPathRoundsSmallSizesToPowersOfTwoButNotLargeOnes()
    {
        var d = Fresh();
        ulong a = d.AllocIovaFast(0, 3, Limit32, true);   // rounded to 4
        Assert.Equal(0xffffcUL, a);
        Assert.Equal(4UL, d.FindIova(a).Pages);
        ulong b = d.AllocIovaFast(0, 33, Limit32, true);  // 33 >= 32: not rounded, but aligned to 64
        Assert.Equal(33UL, d.FindIova(b).Pages);
        Assert.Equal(0UL, b & 63);
        Assert.Equal((0xffffcUL - 33) & ~63UL, b);
        d.FreeIovaFast(0, b, 33);                          // order_base_2(33) = 6: not cacheable, back to the tree
        Assert.True(d.FindIova(b).IsNull);
        d.FreeIovaFast(0, a, 3);                           // order 2: cached
        Assert.False(d.FindIova(a).IsNull);
        Assert.Equal(1, d.CpuCachedCount(0, 2));
        Assert.Null(d.Validate());
    }

    [Fact]
    public void RcacheIsPerCpuAndLifo()
    {
        var d = Fresh(cpus: 2);
        ulong a = d.AllocIovaFast(0, 1, Limit32, true);
        ulong b = d.AllocIovaFast(0, 1, Limit32, true);
        ulong c = d.AllocIovaFast(0, 1, Limit32, true);
        Assert.Equal((0xfffffUL, 0xffffeUL, 0xffffdUL), (a, b, c));
        d.FreeIovaFast(1, a, 1);   // cached on CPU 1
        // CPU 0 has nothing cached: a new tree allocation, not a.
        Assert.Equal(0xffffcUL, d.AllocIovaFast(0, 1, Limit32, true));
        Assert.Equal(a, d.AllocIovaFast(1, 1, Limit32, true));
        d.FreeIovaFast(0, b, 1);
        d.FreeIovaFast(0, c, 1);
        Assert.Equal(c, d.AllocIovaFast(0, 1, Limit32, true)); // most recently freed first
        Assert.Equal(b, d.AllocIovaFast(0, 1, Limit32, true));
        Assert.Equal(3, d.Stats.RcacheHits);
        Assert.Null(d.Validate());
    }

    [Fact]
    public void MagazinePopSkipsPfnsAboveTheLimit()
    {
        var d = Fresh();
        ulong low = d.AllocIovaFast(0, 1, Limit32, true);
        ulong high = d.AllocIovaFast(0, 1, (1UL << 36) - 1, true);
        Assert.Equal((1UL << 36) - 1, high);
        d.FreeIovaFast(0, low, 1);
        d.FreeIovaFast(0, high, 1);
        // The top entry is above 4 GiB: the 32-bit request takes the one below it.
        Assert.Equal(low, d.AllocIovaFast(0, 1, Limit32, true));
        // Only the 64-bit pfn remains cached: a 32-bit request falls back to the tree.
        Assert.Equal(0xffffeUL, d.AllocIovaFast(0, 1, Limit32, true));
        Assert.Equal(high, d.AllocIovaFast(0, 1, (1UL << 40) - 1, true));
        Assert.Null(d.Validate());
    }

    [Fact]
    public void FullMagazinesGoToTheDepotAndAnotherCpuTakesThem()
    {
        var d = Fresh(cpus: 2);
        var pfns = new ulong[2 * IovaMagazine.MagSize + 1];
        for (int i = 0; i < pfns.Length; i++) pfns[i] = d.AllocIovaFast(0, 1, Limit32, true);
        foreach (var p in pfns) d.FreeIovaFast(0, p, 1);
        Assert.Equal(1, d.DepotSize(0));
        Assert.Equal(IovaMagazine.MagSize + 1, d.CpuCachedCount(0, 0));
        // The first 127 frees filled 'loaded', which then became 'prev'; the next 127 filled the new 'loaded', which
        // the 255th free pushed to the depot. CPU 1's magazines are empty: it takes that magazine and pops its top.
        Assert.Equal(pfns[2 * IovaMagazine.MagSize - 1], d.AllocIovaFast(1, 1, Limit32, true));
        Assert.Equal(0, d.DepotSize(0));
        Assert.Equal(IovaMagazine.MagSize - 1, d.CpuCachedCount(1, 0));
        Assert.Null(d.Validate());
    }

    [Fact]
    public void DepotTrimWorkRunsInVirtualTimeDownToOneMagazinePerCpu()
    {
        var clock = new SimClock();
        var d = Fresh(clock: clock);
        Assert.Equal(100_000_000UL, d.DepotDelayNs); // msecs_to_jiffies(100) at HZ=250 is 25 jiffies
        int n = 3 * IovaMagazine.MagSize + 1;
        var pfns = new ulong[n];
        for (int i = 0; i < n; i++) pfns[i] = d.AllocIovaFast(0, 1, Limit32, true);
        foreach (var p in pfns) d.FreeIovaFast(0, p, 1);
        Assert.Equal(2, d.DepotSize(0));
        Assert.Equal(100_000_000UL, d.NextWorkDueNs);
        clock.AdvanceTo(99_999_999);
        d.RunDueWork();
        Assert.Equal(2, d.DepotSize(0));
        clock.AdvanceTo(100_000_000);
        d.RunDueWork();
        // One magazine (the last pushed: pfns 254..380) went back to the tree; the work re-armed for +100 ms.
        Assert.Equal(1, d.DepotSize(0));
        Assert.Equal(n - IovaMagazine.MagSize, d.RangeCount);
        Assert.True(d.FindIova(pfns[300]).IsNull);
        Assert.False(d.FindIova(pfns[10]).IsNull);
        Assert.Equal(200_000_000UL, d.NextWorkDueNs);
        clock.AdvanceTo(1_000_000_000);
        d.RunDueWork();
        Assert.Equal(1, d.DepotSize(0)); // depot_size == num_online_cpus: nothing more to trim
        Assert.Equal(ulong.MaxValue, d.NextWorkDueNs);
        Assert.Equal(1, d.Stats.DepotTrims);
        Assert.Null(d.Validate());
    }

    [Fact]
    public void FailedFastAllocationFlushesEveryCpuCacheAndRetriesOnce()
    {
        var d = Fresh(startPfn: 0xffff8, cpus: 2);
        var pages = new ulong[8];
        for (int i = 0; i < 8; i++) pages[i] = d.AllocIovaFast(0, 1, Limit32, true);
        foreach (var p in pages) d.FreeIovaFast(1, p, 1);
        Assert.Equal(0UL, d.AllocIovaFast(0, 2, Limit32, flushRcache: false));
        Assert.Equal(0, d.Stats.RcacheFlushRetries);
        Assert.Equal(0xffffeUL, d.AllocIovaFast(0, 2, Limit32, flushRcache: true));
        Assert.Equal(1, d.Stats.RcacheFlushRetries);
        Assert.Equal(0, d.CpuCachedCount(1, 0));
        Assert.Null(d.Validate());
    }

    [Fact]
    public void TakeExactFindsARangeInAnyCpusMagazineOrFreeInTheTreeAndNeverOneInUse()
    {
        var d = Fresh(cpus: 2);
        ulong a = d.AllocIovaFast(0, 1, Limit32, true), b = d.AllocIovaFast(0, 1, Limit32, true), c = d.AllocIovaFast(0, 1, Limit32, true);
        d.FreeIovaFast(0, a, 1);
        d.FreeIovaFast(0, b, 1);
        d.FreeIovaFast(1, c, 1);
        // a lies under b in CPU 0's magazine: taken from there, b stays on top.
        Assert.True(d.TakeExact(0, a, 1, Limit32));
        Assert.Equal(b, d.PeekAllocIovaFast(0, 1, Limit32));
        // c sits in CPU 1's magazine: CPU 0 may take it (the kernel's flush ran on another CPU than the model thought).
        Assert.True(d.TakeExact(0, c, 1, Limit32));
        Assert.Equal(0, d.CpuCachedCount(1, 0));
        // A range free in the tree is inserted as the tree search would have left it (the cached node points at it).
        ulong free = 0xff000;
        Assert.True(d.TakeExact(1, free, 2, Limit32));
        Assert.Equal(free, d.FindIova(free + 1).PfnLo);
        Assert.Equal(free, d.Cached32NodePfnLo);
        // In use (a, c, the new range), overlapping one, past the limit, or below the start: refused, nothing changed.
        int ranges = d.RangeCount;
        Assert.False(d.TakeExact(0, a, 1, Limit32));
        Assert.False(d.TakeExact(0, free - 1, 2, Limit32));
        Assert.False(d.TakeExact(0, Limit32, 2, Limit32));
        Assert.False(d.TakeExact(0, 0, 1, Limit32));
        Assert.Equal(ranges, d.RangeCount);
        Assert.Equal(3, d.Stats.TakenExact);
        Assert.Null(d.Validate());
    }

    [Fact]
    public void TakeExactLeavesTheDepotsFullMagazinesAlone()
    {
        // 2 x 127 + 1 frees on one CPU (__iova_rcache_insert): the first 127 fill the loaded magazine, which becomes
        // the previous one; the next 127 fill the other, which goes to the depot when the last free finds both full.
        var d = Fresh();
        var pfns = new List<ulong>();
        for (int i = 0; i < 2 * 127 + 1; i++) pfns.Add(d.AllocIovaFast(0, 1, Limit32, true));
        foreach (ulong p in pfns) d.FreeIovaFast(0, p, 1);
        Assert.Equal(1, d.DepotSize(0));
        Assert.False(d.TakeExact(0, pfns[127], 1, Limit32)); // in the depot's magazine: in use as far as the tree knows
        Assert.True(d.TakeExact(0, pfns[0], 1, Limit32));    // in the previous magazine
        Assert.True(d.TakeExact(0, pfns[^1], 1, Limit32));   // on top of the loaded one
        Assert.Null(d.Validate());
    }
}
