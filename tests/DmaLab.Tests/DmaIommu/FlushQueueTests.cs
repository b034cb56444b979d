using DmaLab.DmaIommu;
using DmaLab.Iova;
using DmaLab.Sim;

namespace DmaLab.Tests.DmaIommu;

/// <summary>Flush-queue behaviour from drivers/iommu/dma-iommu.c (queue_iova, fq_ring_free, fq_flush_timeout).</summary>
public class FlushQueueTests
{
    sealed class CountingIommu : IIotlbFlushAll
    {
        public int Flushes;
        public void FlushIotlbAll() => Flushes++;
    }

    static (IovaDomain, FlushQueue, CountingIommu, SimClock) Make(int cpus = 1, FlushQueueType type = FlushQueueType.PerCpu)
    {
        var clock = new SimClock();
        var d = new IovaDomain(4096, 1, cpus, clock);
        var iommu = new CountingIommu();
        return (d, new FlushQueue(d, iommu, clock, type), iommu, clock);
    }

    static ulong[] Alloc(IovaDomain d, int n)
    {
        var p = new ulong[n];
        for (int i = 0; i < n; i++) p[i] = d.AllocIovaFast(0, 1, 0xfffff, true);
        return p;
    }

    [Fact]
    public void KernelSizesAndTimeouts()
    {
        var (_, per, _, _) = Make();
        Assert.Equal((256, 10), (per.Size, per.TimeoutMs));
        var (_, single, _, _) = Make(type: FlushQueueType.Single);
        Assert.Equal((32768, 1000), (single.Size, single.TimeoutMs));
    }

    [Fact]
    public void TimerFiresOnTheJiffyBoundaryAndReleasesEverythingQueuedBeforeIt()
    {
        var (d, fq, iommu, clock) = Make();
        var p = Alloc(d, 2);
        clock.AdvanceTo(5_000_000);           // jiffy 1 at HZ=250 (4 ms ticks)
        fq.QueueIova(0, p[0], 1, freedTablePages: 2);
        // mod_timer(jiffies 1 + msecs_to_jiffies(10) = 3) → expires 4, queued in level 0's bucket 5 (calc_index
        // rounds up by one): the tick of jiffy 5 runs it, at 20 ms.
        Assert.Equal(20_000_000UL, fq.TimerExpiryNs);
        Assert.Equal(5UL, fq.TimerBucket);
        clock.AdvanceTo(19_999_999);
        Assert.False(fq.RunExpiredTimer());
        fq.QueueIova(0, p[1], 1);             // the timer is already armed: expiry unchanged
        Assert.Equal(20_000_000UL, fq.TimerExpiryNs);
        Assert.Equal(0, iommu.Flushes);
        Assert.False(d.FindIova(p[0]).IsNull); // still allocated: not in any rcache yet
        clock.AdvanceTo(20_000_000);
        Assert.True(fq.RunExpiredTimer());
        Assert.Equal(1, iommu.Flushes);
        Assert.Equal(1, fq.Stats.TimerFlushes);
        Assert.Equal(2, fq.Stats.Released);
        Assert.Equal(0, fq.Stats.IovasHeld);
        Assert.Equal(0, fq.Stats.TablePagesHeld);
        Assert.Equal(ulong.MaxValue, fq.TimerExpiryNs);
        Assert.Equal(2, d.CpuCachedCount(0, 0)); // released through free_iova_fast on the timer's CPU
        Assert.Equal(15_000_000UL, fq.Stats.StaleNsMax);
    }

    [Fact]
    public void AFullRingForcesAFlushAndOnlyEntriesQueuedBeforeItAreReleased()
    {
        var (d, fq, iommu, _) = Make();
        var p = Alloc(d, 257);
        for (int i = 0; i < 255; i++) fq.QueueIova(0, p[i], 1);
        Assert.Equal(0, iommu.Flushes);          // 256 slots hold 255 entries
        Assert.Equal(255, fq.QueuedOn(0));
        fq.QueueIova(0, p[255], 1);              // full: flush, release all 255, then queue
        Assert.Equal(1, iommu.Flushes);
        Assert.Equal(1, fq.Stats.FullQueueFlushes);
        Assert.Equal(255, fq.Stats.Released);
        Assert.Equal(1, fq.QueuedOn(0));
        Assert.Equal(255, fq.Stats.MaxQueued);
        // p[255] was queued with counter 1 = the finished count: it waits for the next flush.
        fq.QueueIova(0, p[256], 1);
        Assert.Equal(2, fq.QueuedOn(0));
        Assert.True(fq.Holds(p[255]));
    }

    [Fact]
    public void PerCpuRingsAreIndependentButTheTimerFlushesThemAll()
    {
        var (d, fq, iommu, clock) = Make(cpus: 2);
        var p = Alloc(d, 3);
        fq.QueueIova(1, p[0], 1);
        fq.QueueIova(0, p[1], 1);
        fq.QueueIova(0, p[2], 1);
        Assert.Equal((2, 1), (fq.QueuedOn(0), fq.QueuedOn(1)));
        Assert.Equal(1, fq.TimerCpu);          // armed by the first queue_iova, on CPU 1
        clock.AdvanceTo(fq.TimerExpiryNs);
        fq.RunExpiredTimer();
        Assert.Equal(1, iommu.Flushes);
        Assert.Equal((0, 0), (fq.QueuedOn(0), fq.QueuedOn(1)));
        Assert.Equal(3, d.CpuCachedCount(1, 0));
    }

    [Fact]
    public void SingleQueueIsSharedByAllCpus()
    {
        var (d, fq, _, clock) = Make(cpus: 2, type: FlushQueueType.Single);
        var p = Alloc(d, 2);
        fq.QueueIova(0, p[0], 1);
        fq.QueueIova(1, p[1], 1);
        Assert.Equal(2, fq.QueuedOn(0));
        Assert.Equal(2, fq.QueuedOn(1));
        // 1000 ms = 250 jiffies: level 1 of the wheel (8-jiffy buckets), rounded up to bucket 256.
        Assert.Equal(1_024_000_000UL, fq.TimerExpiryNs);
        clock.AdvanceTo(1_024_000_000);
        Assert.True(fq.RunExpiredTimer());
        Assert.Equal(0, fq.QueuedOn(0));
    }

    [Fact]
    public void A_placed_flush_extended_later_releases_each_ring_where_the_one_flush_would_have()
    {
        // CPU 1 queues X at 1 ms, CPU 0 queues Y at 3 ms; a flush placed at 2 ms on CPU 0 releases X only. Learning
        // that it ran after Y after all, the extension must leave the cache as one flush at 3 ms would have:
        // fq_flush_timeout() frees CPU 0's ring (Y) before CPU 1's (X), so X stays on top and Y lies under it.
        var (d, fq, _, clock) = Make(cpus: 2);
        var p = Alloc(d, 2);
        ulong x = p[0], y = p[1];
        clock.AdvanceTo(1_000_000);
        fq.QueueIova(1, x, 1);
        clock.AdvanceTo(3_000_000);
        fq.QueueIova(0, y, 1);
        clock.AdvanceTo(4_000_000);
        var (dOne, fqOne, _, _) = Make(cpus: 2);
        dOne.CopyStateFrom(d);
        fqOne.CopyStateFrom(fq);
        fqOne.FlushTimeoutAsOf(3_000_000, 0);

        fq.FlushTimeoutAsOf(2_000_000, 0);
        Assert.Equal(x, d.PeekAllocIovaFast(0, 1, 0xfffff));
        // An allocation that gets X cannot tell whether Y was released too: it would lie under X.
        Assert.False(fq.ExtensionSurfaces(0, 2_000_001, 4_000_000, 0));
        fq.ExtendFlushTo(3_000_000);
        Assert.Equal(dOne.AllocIovaFast(0, 1, 0xfffff, true), d.AllocIovaFast(0, 1, 0xfffff, true)); // X
        Assert.Equal(dOne.AllocIovaFast(0, 1, 0xfffff, true), d.AllocIovaFast(0, 1, 0xfffff, true)); // Y
        Assert.Null(d.Validate());
    }
}
