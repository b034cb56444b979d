using DmaLab.Sim;

namespace DmaLab.Mm;

/// <summary>
/// A reproducible way to fragment memory: fill the zones a gfp mask can reach with order-0 pages, then free a
/// seeded random subset. Many pages end up free but almost no aligned run of 2^order pages is, so higher-order
/// allocations fail with plenty of memory free (what /proc/buddyinfo shows as a column of order-0 counts).
/// </summary>
public sealed class FragmentationScenario
{
    readonly PageAllocator _pages;
    readonly List<PhysAddr> _held = new();

    FragmentationScenario(PageAllocator pages) => _pages = pages;

    /// <summary>Pages the scenario still holds.</summary>
    public IReadOnlyList<PhysAddr> Held => _held;

    /// <summary>
    /// Runs the scenario: order-0 allocations with <paramref name="gfp"/> (plus __GFP_NOWARN) until the reachable
    /// zones are exhausted, then each page is freed with probability <paramref name="freeFraction"/>.
    /// </summary>
    public static FragmentationScenario Run(PageAllocator pages, Gfp gfp, Rng rng, double freeFraction = 0.5)
    {
        var s = new FragmentationScenario(pages);
        var all = new List<PhysAddr>();
        while (pages.TryAllocPages(0, gfp | Gfp.NoWarn, out var p)) all.Add(p);
        foreach (var p in all)
        {
            if (rng.Chance(freeFraction)) pages.FreePages(p, 0);
            else s._held.Add(p);
        }
        return s;
    }

    /// <summary>Frees every page still held, which must restore the allocator's free lists exactly.</summary>
    public void Release()
    {
        foreach (var p in _held) _pages.FreePages(p, 0);
        _held.Clear();
    }
}
