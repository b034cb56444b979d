using DmaLab.Iova;
using DmaLab.Sim;

namespace DmaLab.Tests.Iova;

/// <summary>The rcache depot per kernel version (drivers/iommu/iova.c): v6.1 keeps at most MAX_GLOBAL_MAGS = 32 full
/// magazines in an array and returns a further one's pfns to the tree at once, with no delayed work; v6.7+ keeps an
/// unbounded list trimmed 100 ms later. And the read-only prediction the IOMMU-layer replay uses.</summary>
public class IovaRcacheVersionTests
{
    const ulong Limit32 = 0xfffff;

    static (IovaDomain D, ulong[] Pfns) FreedMagazines(int depotLimit, int magazines, SimClock clock)
    {
        var d = new IovaDomain(4096, 1, 1, clock) { DepotLimit = depotLimit };
        int n = (magazines + 1) * IovaMagazine.MagSize + 1; // loaded and prev fill first; then every 127 push one
        var pfns = new ulong[n];
        for (int i = 0; i < n; i++) pfns[i] = d.AllocIovaFast(0, 1, Limit32, true);
        foreach (var p in pfns) d.FreeIovaFast(0, p, 1);
        return (d, pfns);
    }

    [Fact]
    public void V61_depot_holds_32_magazines_and_frees_the_33rd_to_the_tree()
    {
        var clock = new SimClock();
        var (d, pfns) = FreedMagazines(IovaDomain.MaxGlobalMags61, 33, clock);
        Assert.Equal(32, d.DepotSize(0));
        Assert.Equal(ulong.MaxValue, d.NextWorkDueNs); // no delayed work in 6.1
        Assert.Equal(pfns.Length - IovaMagazine.MagSize, d.RangeCount);
        Assert.Null(d.Validate());
        clock.AdvanceTo(10_000_000_000);
        d.RunDueWork();
        Assert.Equal(32, d.DepotSize(0));
    }

    [Fact]
    public void V67_depot_is_unbounded_until_its_work_trims_it()
    {
        var clock = new SimClock();
        var (d, pfns) = FreedMagazines(0, 33, clock);
        Assert.Equal(33, d.DepotSize(0));
        Assert.Equal(pfns.Length, d.RangeCount);
        Assert.NotEqual(ulong.MaxValue, d.NextWorkDueNs);
        clock.AdvanceTo(10_000_000_000);
        d.RunDueWork();
        Assert.Equal(1, d.DepotSize(0));
    }

    [Fact]
    public void Peek_predicts_every_allocation_and_changes_nothing()
    {
        var d = new IovaDomain(4096, 1, 2, new SimClock());
        var rng = new Random(5);
        var live = new List<(ulong Pfn, ulong Size)>();
        for (int i = 0; i < 4000; i++)
        {
            int cpu = rng.Next(2);
            if (live.Count > 0 && rng.Next(3) == 0)
            {
                int k = rng.Next(live.Count);
                d.FreeIovaFast(cpu, live[k].Pfn, live[k].Size);
                live.RemoveAt(k);
                continue;
            }
            ulong size = (ulong)rng.Next(1, 70);
            ulong limit = rng.Next(4) == 0 ? 0x7ffff : Limit32;
            ulong peek = d.PeekAllocIovaFast(cpu, size, limit);
            Assert.Equal(peek, d.PeekAllocIovaFast(cpu, size, limit));
            ulong got = d.AllocIovaFast(cpu, size, limit, false);
            Assert.Equal(got, peek);
            if (got != 0) live.Add((got, size));
        }
        Assert.Null(d.Validate());
    }
}
