using CsCheck;
using DmaLab.DmaIommu;
using DmaLab.Iova;
using DmaLab.Sim;

namespace DmaLab.Tests.Iova;

/// <summary>
/// Property tests against a simple reference model (a map of live ranges): random mixes of tree and fast
/// allocations and frees on two CPUs, with and without a flush queue.
/// </summary>
public class IovaPropertyTests
{
    const ulong Start = 0xfff00;      // 256 granules below 4 GiB: small enough to exhaust
    const ulong Limit32 = 0xfffff;
    const ulong Limit64 = 0x1000ff;   // another 256 granules above 4 GiB

    // (op, size, cpu, high limit, pick)
    static readonly Gen<(int Op, int Size, int Cpu, bool High, int Pick)[]> Ops =
        Gen.Select(Gen.Int[0, 4], Gen.Int[1, 40], Gen.Int[0, 1], Gen.Bool, Gen.Int[0, 1000]).Array[1, 250];

    static void AssertDisjointFromLive(SortedDictionary<ulong, ulong> live, ulong lo, ulong pages)
    {
        foreach (var (l, n) in live)
            Assert.False(lo <= l + n - 1 && l <= lo + pages - 1, $"[0x{lo:x}+{pages}] overlaps live [0x{l:x}+{n}]");
    }

    [Fact]
    public void AllocationsNeverOverlapAndEverythingFreedIsReusable()
    {
        Ops.Sample(ops =>
        {
            var d = new IovaDomain(4096, Start, cpus: 2);
            var live = new SortedDictionary<ulong, ulong>(); // pfn_lo -> pages as the tree holds them
            var fast = new HashSet<ulong>();                  // those obtained through alloc_iova_fast
            foreach (var (op, size, cpu, high, pick) in ops)
            {
                ulong limit = high ? Limit64 : Limit32;
                switch (op)
                {
                    case 0: // alloc_iova, aligned or not
                    {
                        var r = d.AllocIova((ulong)size, limit, size % 2 == 0);
                        if (r.IsNull) break;
                        Assert.InRange(r.PfnLo, Start, limit);
                        Assert.InRange(r.PfnHi, r.PfnLo, limit);
                        if (size % 2 == 0) Assert.Equal(0UL, r.PfnLo % IovaMath.RoundupPowOfTwo((ulong)size));
                        AssertDisjointFromLive(live, r.PfnLo, r.Pages);
                        live[r.PfnLo] = r.Pages;
                        break;
                    }
                    case 1:
                    case 2: // alloc_iova_fast: may come from a cache, must never be a range still in use
                    {
                        ulong pfn = d.AllocIovaFast(cpu, (ulong)size, limit, true);
                        if (pfn == 0) break;
                        ulong pages = size < 32 ? IovaMath.RoundupPowOfTwo((ulong)size) : (ulong)size;
                        Assert.True(pfn + pages - 1 <= limit && pfn >= Start);
                        AssertDisjointFromLive(live, pfn, pages);
                        Assert.Equal(pfn, d.FindIova(pfn).PfnLo);
                        live[pfn] = pages;
                        fast.Add(pfn);
                        break;
                    }
                    default: // free one live range: fast ones through the rcache, others to the tree
                    {
                        if (live.Count == 0) break;
                        var (pfn, pages) = live.ElementAt(pick % live.Count);
                        live.Remove(pfn);
                        if (fast.Remove(pfn)) d.FreeIovaFast(cpu, pfn, pages);
                        else d.FreeIova(pfn);
                        break;
                    }
                }
                string? err = d.Validate();
                Assert.True(err == null, err);
            }
            foreach (var (pfn, pages) in live)
            {
                if (fast.Contains(pfn)) d.FreeIovaFast(0, pfn, pages);
                else d.FreeIova(pfn);
            }
            d.FreeCpuCachedIovas(0);
            d.FreeCpuCachedIovas(1);
            d.FreeGlobalCachedIovas();
            Assert.Equal(0, d.RangeCount);
            // Every granule is free again: both windows can be taken whole.
            Assert.Equal(Start, d.AllocIova(0x100, Limit32, true).PfnLo);
            Assert.Equal(Limit64 - 0xff, d.AllocIova(0x100, Limit64, true).PfnLo);
            Assert.Null(d.Validate());
        }, iter: 200);
    }

    [Fact]
    public void TakeExactHandsOutOnlyFreeRangesAndAlwaysARangeJustFreed()
    {
        // A replay that takes the kernel's range (IommuDmaIovaAllocator.Steer) must never take one in use, and must
        // find one wherever a free just put it: the freeing CPU's magazine (taken from the other CPU) or the tree.
        Ops.Sample(ops =>
        {
            var d = new IovaDomain(4096, Start, cpus: 2);
            var live = new SortedDictionary<ulong, ulong>();
            var fast = new HashSet<ulong>();
            foreach (var (op, size, cpu, high, pick) in ops)
            {
                ulong limit = high ? Limit64 : Limit32;
                ulong pages = size < 32 ? IovaMath.RoundupPowOfTwo((ulong)size) : (ulong)size;
                switch (op)
                {
                    case 0:
                    case 1: // alloc_iova_fast
                    {
                        ulong pfn = d.AllocIovaFast(cpu, (ulong)size, limit, true);
                        if (pfn == 0) break;
                        AssertDisjointFromLive(live, pfn, pages);
                        live[pfn] = pages;
                        fast.Add(pfn);
                        break;
                    }
                    case 2: // take a range of this size anywhere it may lie
                    {
                        ulong candidate = (high ? Limit64 - 0xff : Start) + (ulong)pick % 0x100 / pages * pages;
                        if (!d.TakeExact(cpu, candidate, (ulong)size, limit)) break;
                        AssertDisjointFromLive(live, candidate, pages);
                        Assert.Equal(candidate, d.FindIova(candidate).PfnLo);
                        live[candidate] = pages;
                        fast.Add(candidate);
                        break;
                    }
                    default: // free one live range, then take it straight back on the other CPU
                    {
                        if (live.Count == 0) break;
                        var (pfn, n) = live.ElementAt(pick % live.Count);
                        live.Remove(pfn);
                        if (fast.Remove(pfn)) d.FreeIovaFast(cpu, pfn, n);
                        else d.FreeIova(pfn);
                        if (pick % 2 == 0) break;
                        Assert.True(d.TakeExact(1 - cpu, pfn, n, ulong.MaxValue >> 12), $"0x{pfn:x}+{n} was just freed");
                        live[pfn] = n;
                        fast.Add(pfn);
                        break;
                    }
                }
                string? err = d.Validate();
                Assert.True(err == null, err);
            }
        }, iter: 200);
    }

    sealed class RecordingIommu(FlushQueueHolder holder) : IIotlbFlushAll
    {
        public void FlushIotlbAll() => holder.Flushes++;
    }

    sealed class FlushQueueHolder
    {
        public int Flushes;
    }

    /// <summary>Both queue types (per-CPU rings, and the single shared ring iommu_dma_init_options() picks for
    /// shadow_on_flush devices), with small rings so full-ring flushes happen as often as timer flushes.</summary>
    [Theory]
    [InlineData(FlushQueueType.PerCpu)]
    [InlineData(FlushQueueType.Single)]
    public void FlushQueueNeverReleasesAnIovaBeforeItsInvalidation(FlushQueueType type)
    {
        Ops.Sample(ops =>
        {
            var clock = new SimClock();
            var d = new IovaDomain(4096, Start, cpus: 2, clock);
            var holder = new FlushQueueHolder();
            var fq = new FlushQueue(d, new RecordingIommu(holder), clock, type, size: 8);
            var live = new SortedDictionary<ulong, ulong>();
            var queuedAtFlush = new Dictionary<ulong, int>(); // pfn -> invalidations issued when it was queued
            fq.OnRelease = (pfn, _, _) =>
            {
                Assert.True(queuedAtFlush.Remove(pfn, out int flushesThen), $"released 0x{pfn:x} that was not queued");
                Assert.True(holder.Flushes > flushesThen, $"0x{pfn:x} released without an invalidation after its unmap");
            };
            foreach (var (op, size, cpu, high, pick) in ops)
            {
                fq.RunExpiredTimer();
                switch (op)
                {
                    case 0:
                    case 1:
                    {
                        ulong pfn = d.AllocIovaFast(cpu, (ulong)Math.Min(size, 8), high ? Limit64 : Limit32, true);
                        if (pfn == 0) break;
                        ulong pages = IovaMath.RoundupPowOfTwo((ulong)Math.Min(size, 8));
                        AssertDisjointFromLive(live, pfn, pages);
                        Assert.False(fq.Holds(pfn), $"0x{pfn:x} handed out while waiting in the flush queue");
                        foreach (var q in queuedAtFlush.Keys) Assert.NotEqual(q, pfn);
                        live[pfn] = pages;
                        break;
                    }
                    case 2:
                        clock.Advance((ulong)pick * 20_000); // up to 20 ms
                        break;
                    default:
                    {
                        if (live.Count == 0) break;
                        var (pfn, pages) = live.ElementAt(pick % live.Count);
                        live.Remove(pfn);
                        queuedAtFlush[pfn] = holder.Flushes;
                        fq.QueueIova(cpu, pfn, pages);
                        break;
                    }
                }
                Assert.Null(d.Validate());
                Assert.Equal(queuedAtFlush.Count, fq.Stats.IovasHeld);
            }
        }, iter: 200);
    }
}
