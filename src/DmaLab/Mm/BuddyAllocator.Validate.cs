namespace DmaLab.Mm;

public sealed partial class BuddyAllocator
{
    /// <summary>
    /// Checks every invariant, release mode (for tests and --check); throws <see cref="InvalidOperationException"/>
    /// naming the first broken one:
    /// every managed page lies in exactly one block (free or allocated), blocks are naturally aligned, inside the
    /// zone and made of managed pages only; every free head is on the list of its order and migratetype exactly once
    /// and every list entry is a free head of that order; the per-order counts, NR_FREE_PAGES and NR_FREE_CMA_PAGES
    /// match the lists; no two free buddies of the same order and mergeable type are left unmerged.
    /// </summary>
    public void Validate()
    {
        ulong start = StartPfn.Value;
        long managed = 0, freeHeads = 0;
        for (ulong pfn = start; pfn < EndPfn.Value;)
        {
            long idx = (long)(pfn - start);
            if (_sec[idx >> SecShift] is null) { pfn = start + (ulong)(((idx >> SecShift) + 1) << SecShift); continue; }
            ref var p = ref M((int)idx);
            if ((p.Flags & PageFlags.Present) == 0)
            {
                if ((p.Flags & (PageFlags.Buddy | PageFlags.Allocated)) != 0) Fail($"unmanaged page {new Pfn(pfn)} is a block head");
                pfn++; continue;
            }
            if ((p.Flags & (PageFlags.Buddy | PageFlags.Allocated)) == 0) Fail($"managed page {new Pfn(pfn)} is in no block");
            if ((p.Flags & PageFlags.Buddy) != 0 && (p.Flags & PageFlags.Allocated) != 0) Fail($"{new Pfn(pfn)} is both free and allocated");
            int order = p.Order;
            if (order > MaxPageOrder) Fail($"{new Pfn(pfn)} has order {order}");
            ulong size = 1UL << order;
            if ((pfn & (size - 1)) != 0) Fail($"block {new Pfn(pfn)} of order {order} is not naturally aligned");
            if (pfn + size > EndPfn.Value) Fail($"block {new Pfn(pfn)} of order {order} runs past the zone end");
            bool cma = (p.Flags & PageFlags.Cma) != 0;
            for (ulong t = 1; t < size; t++)
            {
                ref var q = ref M((int)(idx + (long)t));
                if ((q.Flags & PageFlags.Present) == 0) Fail($"block {new Pfn(pfn)} order {order} covers unmanaged {new Pfn(pfn + t)}");
                if ((q.Flags & (PageFlags.Buddy | PageFlags.Allocated)) != 0) Fail($"block {new Pfn(pfn)} order {order} overlaps block {new Pfn(pfn + t)}");
                if ((p.Flags & PageFlags.Buddy) != 0 && ((q.Flags & PageFlags.Cma) != 0) != cma) Fail($"free block {new Pfn(pfn)} mixes CMA and regular pageblocks");
            }
            if ((p.Flags & PageFlags.Buddy) != 0)
            {
                freeHeads++;
                if (order < MaxPageOrder && !IsolationActive)
                {
                    ulong b = pfn ^ size;
                    if (b >= start && IsFreeHead((long)(b - start), order) && (order < PageblockOrder || MtOf((int)(b - start)) == MtOf((int)idx)))
                        Fail($"free buddies {new Pfn(pfn)} and {new Pfn(b)} of order {order} were not merged");
                }
            }
            managed += (long)size;
            pfn += size;
        }
        long countedManaged = 0;
        for (int s = 0; s < _sec.Length; s++)
        {
            var sec = _sec[s];
            if (sec is null) continue;
            foreach (ref var q in sec.AsSpan()) if ((q.Flags & PageFlags.Present) != 0) countedManaged++;
        }
        if (managed != countedManaged || managed != _managedPages) Fail($"managed pages: blocks cover {managed}, flags say {countedManaged}, counter {_managedPages}");

        long listed = 0, freePages = 0, freeCma = 0;
        for (int o = 0; o < NrPageOrders; o++)
            for (int mt = 0; mt < NrMt; mt++)
            {
                int l = o * NrMt + mt;
                long n = 0;
                int prev = Nil;
                for (int idx = _head[l]; idx != Nil; idx = M(idx).Next)
                {
                    if (++n > _managedPages) Fail($"free list order {o} type {mt} has a cycle");
                    ref var p = ref M(idx);
                    if ((p.Flags & PageFlags.Buddy) == 0 || p.Order != o) Fail($"free list order {o} holds {new Pfn(start + (ulong)idx)} which is not a free head of that order");
                    if (MtOf(idx) != mt) Fail($"{new Pfn(start + (ulong)idx)} is on the type-{mt} list but its pageblock is type {MtOf(idx)}");
                    if (p.Prev != prev) Fail($"free list order {o} type {mt}: broken back link at {new Pfn(start + (ulong)idx)}");
                    prev = idx;
                }
                if (_tail[l] != prev) Fail($"free list order {o} type {mt}: tail does not match");
                if (n != _nrFree[l]) Fail($"free list order {o} type {mt}: {n} entries, nr_free says {_nrFree[l]}");
                listed += n;
                freePages += n << o;
                if (mt == MtCma) freeCma += n << o;
            }
        if (listed != freeHeads) Fail($"{freeHeads} free heads but {listed} list entries");
        if (freePages != _freePages) Fail($"NR_FREE_PAGES {_freePages}, lists hold {freePages}");
        if (freeCma != _freeCmaPages) Fail($"NR_FREE_CMA_PAGES {_freeCmaPages}, lists hold {freeCma}");
    }

    static void Fail(string what) => throw new InvalidOperationException("buddy allocator invariant broken: " + what);
}
