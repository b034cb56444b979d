using DmaLab.Analysis;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Workloads;

/// <summary>
/// CMA under movable-page pressure: user-like movable allocations (with real bytes written) fill memory and borrow
/// the CMA areas' pages, some of them are pinned (as a driver doing get_user_pages() would), then a camera-style
/// client asks every CMA area for 1 MiB..8 MiB buffers until one is refused. Reports migrations, pinned-page failures and busy retries per
/// cma_alloc(), and checks that every migrated page kept its bytes.
/// </summary>
public static class CmaPressureWorkload
{
    public const string Name = "cma-pressure";

    public static WorkloadResult Run(MemorySystem mem, ulong seed)
    {
        var pa = mem.PageAllocator;
        var rng = Rng.For(seed, Name);
        var result = new WorkloadResult
        {
            Name = Name,
            Description = "cma_alloc with movable pages borrowing CMA: migration, pinned pages, busy retries",
        };
        if (mem.CmaAreas.Count == 0)
        {
            result.Notes.Add("platform has no CMA area");
            return result;
        }

        // Movable pressure in the zone holding the first CMA area: 2 MiB movable fillers (THP-like) until more than
        // half of that zone's free memory is CMA, then small stamped movable allocations that now borrow CMA pages.
        long cmaPages = mem.CmaAreas.Sum(c => (long)c.Count);
        var zone = pa.FindZone(mem.CmaAreas[0].Base)!;
        var gfp = Gfp.Kernel | Gfp.NoWarn | zone.Type switch { ZoneType.Dma => Gfp.Dma, ZoneType.Dma32 => Gfp.Dma32, _ => Gfp.None };
        if (zone.Type == ZoneType.Dma && mem.Zone(ZoneType.Dma32).IsPopulated == false) gfp = (gfp & ~Gfp.Dma) | Gfp.Dma32;
        var movable = new List<(MovableHandle H, ulong Stamp)>();
        var b = new byte[8];
        void Stamp(MovableHandle h)
        {
            ulong stamp = rng.NextU64();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(b, stamp);
            mem.Memory.Write(pa.Resolve(h), b);
            movable.Add((h, stamp));
        }
        while (zone.Buddy.FreeCmaPages <= zone.Buddy.FreePages / 2 && pa.TryAllocMovable(BuddyAllocator.PageblockOrder, gfp, out var big))
            Stamp(big);
        long taken = 0;
        while (taken < cmaPages / 2)
        {
            int order = rng.Chance(0.8) ? 0 : rng.Next(1, 4);
            if (!pa.TryAllocMovable(order, gfp, out var h)) break;
            Stamp(h);
            taken += 1L << order;
        }
        long borrowed = 0;
        foreach (var (h, _) in movable)
            foreach (var c in mem.CmaAreas)
                if (c.Range.Contains(pa.Resolve(h))) borrowed += 1L << pa.OrderOf(h);
        // Pin a few of the borrowed pages (short-term GUP while a DMA is in flight).
        int pinned = 0;
        foreach (var (h, _) in movable)
        {
            if (!mem.CmaAreas.Any(c => c.Range.Contains(pa.Resolve(h))) || !rng.Chance(0.002)) continue;
            pa.Pin(h); pinned++;
        }

        var before = mem.CmaAreas.ToDictionary(c => c.Name, c => c.Stats);
        int requests = 0, ok = 0;
        var buffers = new List<(CmaArea Area, PhysAddr Page, ulong Count)>();
        foreach (var area in mem.CmaAreas)
        {
            // Buffers until the area refuses one: the later ones must reach the borrowed pages.
            for (int i = 0; i < 256; i++)
            {
                ulong count = 256UL << rng.Next(0, 4);                  // 1, 2, 4 or 8 MiB
                if (count > area.Count) continue;
                requests++;
                int align = Math.Min(8, (int)Math.Log2(count));          // CONFIG_CMA_ALIGNMENT = 8, as dma_alloc_from_contiguous caps
                if (area.Alloc(count, align, out var page, noWarn: false) != 0) break;
                ok++;
                buffers.Add((area, page, count));
            }
        }

        // Every movable page, wherever it lives now, still holds its stamp.
        int corrupted = 0;
        Span<byte> rb = stackalloc byte[8];
        foreach (var (h, stamp) in movable)
        {
            mem.Memory.Read(pa.Resolve(h), rb);
            if (System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(rb) != stamp) corrupted++;
        }

        long migrated = 0, migFail = 0, retries = 0, pinnedHit = 0, fails = 0;
        foreach (var area in mem.CmaAreas)
        {
            var s = area.Stats; var b0 = before[area.Name];
            migrated += s.PagesMigrated - b0.PagesMigrated;
            migFail += s.MigrationFailures - b0.MigrationFailures;
            retries += s.BusyRetries - b0.BusyRetries;
            pinnedHit += s.PinnedPagesHit - b0.PinnedPagesHit;
            fails += s.Failures - b0.Failures;
            foreach (var line in area.Log.TakeLast(3)) result.Notes.Add(line);
        }

        foreach (var (area, page, count) in buffers) area.Release(page, count);
        foreach (var (h, _) in movable) { if (pa.IsPinned(h)) pa.Unpin(h); pa.FreeMovable(h); }
        pa.Validate();

        result.Add("cma-pages", cmaPages, "pages")
              .Add("movable-pages-borrowing-cma", borrowed, "pages")
              .Add("pinned-movable-allocations", pinned, "count")
              .Add("cma-requests", requests, "count")
              .Add("cma-allocations", ok, "count")
              .Add("cma-failures", fails, "count")
              .Add("pages-migrated", migrated, "pages")
              .Add("migration-failures", migFail, "count")
              .Add("pinned-pages-hit", pinnedHit, "pages")
              .Add("busy-retries", retries, "count")
              .Add("migrated-pages-corrupted", corrupted, "count");
        if (corrupted > 0)
            result.Findings.Add(new Finding("migration-corrupted-data", "", 0, $"{corrupted} movable allocations lost their bytes during migration"));
        if (retries > 0)
            result.Findings.Add(new Finding("cma-busy-retry", "", 0,
                $"{retries} cma_alloc ranges were busy ({pinnedHit} pinned pages); the allocator retried further on"));
        if (fails > 0)
            result.Findings.Add(new Finding("cma-alloc-failure", "", 0, $"{fails} of {requests} cma_alloc requests failed"));
        return result;
    }
}
