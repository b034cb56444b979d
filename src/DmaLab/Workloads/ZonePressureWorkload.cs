using DmaLab.Analysis;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Workloads;

/// <summary>
/// Zone and buddy pressure: a seeded mix of order-0..4 allocations across GFP_KERNEL / GFP_DMA32 / GFP_DMA fills
/// the machine's low zones, frees a random half and then asks for higher orders. Reports /proc/buddyinfo before and
/// after, how many requests failed with plenty of memory free (fragmentation), the warn_alloc() lines, and the
/// fallback of GFP_KERNEL into the DMA zones. Everything is given back at the end and checked.
/// </summary>
public static class ZonePressureWorkload
{
    public const string Name = "zone-pressure";

    public static WorkloadResult Run(MemorySystem mem, ulong seed)
    {
        var pa = mem.PageAllocator;
        var rng = Rng.For(seed, Name);
        var result = new WorkloadResult
        {
            Name = Name,
            Description = "buddy allocator under pressure: fragmentation failures with memory free, zone fallback",
        };
        string before = pa.BuddyInfo();
        int warningsBefore = pa.Warnings.Count;
        result.Notes.Add("buddyinfo before:\n" + before.TrimEnd());

        // Fill the 32-bit zones (DMA32 falls back to DMA) with small blocks.
        var lowGfp = Gfp.Kernel | Gfp.Dma32;
        var held = new List<(PhysAddr Page, int Order)>();
        while (true)
        {
            int order = rng.Chance(0.7) ? 0 : rng.Next(1, 3);
            if (!pa.TryAllocPages(order, lowGfp | Gfp.NoWarn, out var p))
            {
                if (order == 0) break;
                continue;
            }
            held.Add((p, order));
        }
        long lowManaged = mem.Zone(ZoneType.Dma).Buddy.ManagedPages + mem.Zone(ZoneType.Dma32).Buddy.ManagedPages;
        var kept = new List<(PhysAddr Page, int Order)>();
        foreach (var h in held)
            if (rng.Chance(0.5)) pa.FreePages(h.Page, h.Order); else kept.Add(h);
        long lowFree = mem.Zone(ZoneType.Dma).Buddy.FreePages + mem.Zone(ZoneType.Dma32).Buddy.FreePages;
        string fragmented = pa.BuddyInfo();
        result.Notes.Add("buddyinfo fragmented:\n" + fragmented.TrimEnd());

        // Higher-order 32-bit requests now: count failures although about half of the low memory is free.
        int attempts = 0, failures = 0;
        var extra = new List<(PhysAddr, int)>();
        for (int order = 1; order <= 6; order++)
            for (int i = 0; i < 8; i++)
            {
                attempts++;
                if (pa.TryAllocPages(order, lowGfp, out var p)) extra.Add((p, order)); else failures++;
            }

        // GFP_KERNEL requests served from ZONE_NORMAL while it has memory; count any fallback into the low zones.
        int fallback = 0;
        var normal = new List<PhysAddr>();
        for (int i = 0; i < 256; i++)
        {
            if (!pa.TryAllocPages(0, Gfp.Kernel, out var p)) break;
            if (pa.FindZone(p)?.Type != ZoneType.Normal) fallback++;
            normal.Add(p);
        }

        foreach (var p in normal) pa.FreePages(p, 0);
        foreach (var (p, o) in extra) pa.FreePages(p, o);
        foreach (var (p, o) in kept) pa.FreePages(p, o);
        pa.Validate();
        string after = pa.BuddyInfo();
        result.Notes.Add("buddyinfo after freeing everything:\n" + after.TrimEnd());
        for (int i = warningsBefore; i < pa.Warnings.Count && i < warningsBefore + 5; i++) result.Notes.Add(pa.Warnings[i].Message);

        result.Add("low-zone-managed-pages", lowManaged, "pages")
              .Add("low-zone-free-when-fragmented", lowFree, "pages")
              .Add("high-order-attempts", attempts, "count")
              .Add("high-order-failures", failures, "count")
              .Add("allocation-failure-warnings", pa.Warnings.Count - warningsBefore, "count")
              .Add("gfp-kernel-fallback-to-low-zones", fallback, "count")
              .Add("buddyinfo-restored", before == after ? 1 : 0, "bool");
        if (failures > 0)
            result.Findings.Add(new Finding("fragmentation-failure", "", 0,
                $"{failures} of {attempts} order-1..6 GFP_DMA32 allocations failed with {lowFree} of {lowManaged} low pages free"));
        if (before != after)
            result.Findings.Add(new Finding("buddyinfo-not-restored", "", 0, "free lists differ after every page was freed"));
        result.Series["free-blocks-by-order-fragmented"] = ParseCounts(fragmented);
        return result;
    }

    /// <summary>Sums the buddyinfo columns of the non-Normal zones into (order, blocks) points.</summary>
    static List<(double X, double Y)> ParseCounts(string buddyinfo)
    {
        var sums = new double[BuddyAllocator.NrPageOrders];
        foreach (var line in buddyinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Contains("Normal", StringComparison.Ordinal)) continue;
            var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (int o = 0; o < sums.Length; o++) sums[o] += double.Parse(cols[cols.Length - sums.Length + o], System.Globalization.CultureInfo.InvariantCulture);
        }
        var pts = new List<(double, double)>();
        for (int o = 0; o < sums.Length; o++) pts.Add((o, sums[o]));
        return pts;
    }
}
