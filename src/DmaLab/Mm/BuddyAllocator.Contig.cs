namespace DmaLab.Mm;

/// <summary>Range operations behind alloc_contig_range() and boot-time claims (Linux: mm/page_alloc.c,
/// alloc_contig_range(), free_contig_range(); mm/page_isolation.c, start/undo_isolate_page_range()).</summary>
public sealed partial class BuddyAllocator
{
    // Scratch lists reused by the range operations so cma_alloc()/cma_release() allocate nothing per call.
    readonly List<(int Idx, int Order, int Mt)> _isoScratch = new();
    readonly List<(ulong Head, int Order)> _claimScratch = new();

    /// <summary>Whether a pageblock range is isolated now.</summary>
    internal bool IsolationActive => _isoEnd > _isoStart;

    /// <summary>
    /// start_isolate_page_range(): marks the pageblocks covering [start, end) MIGRATE_ISOLATE and moves their free
    /// blocks to the isolate lists, so no allocation can land there while movable pages are migrated out, and pages
    /// freed into the range stay isolated.
    /// </summary>
    internal void IsolateRange(ulong start, ulong end)
    {
        if (IsolationActive) throw new InvalidOperationException("a pageblock range is already isolated");
        ulong pb = 1UL << PageblockOrder;
        ulong s = Math.Max(StartPfn.Value, start & ~(pb - 1));
        ulong e = Math.Min(EndPfn.Value, (end + pb - 1) & ~(pb - 1));
        // Free blocks of order > pageblock_order may straddle the aligned range: widen to cover them whole.
        if (FindBlock(s, out ulong h, out _, out var f) && (f & PageFlags.Buddy) != 0) s = Math.Min(s, h);
        if (e > s && FindBlock(e - 1, out h, out int o, out f) && (f & PageFlags.Buddy) != 0) e = Math.Max(e, h + (1UL << o));
        var moving = _isoScratch;
        moving.Clear();
        for (ulong pfn = s; pfn < e;)
        {
            if (!FindBlock(pfn, out h, out o, out f)) { pfn++; continue; }
            if ((f & PageFlags.Buddy) != 0) moving.Add(((int)(h - StartPfn.Value), o, MtOf((int)(h - StartPfn.Value))));
            pfn = h + (1UL << o);
        }
        foreach (var (idx, order, mt) in moving) DelFromFreeList(idx, order, mt);
        _isoStart = s; _isoEnd = e;
        foreach (var (idx, order, _) in moving) AddToFreeList(idx, order, MtIsolate, tail: false);
    }

    /// <summary>undo_isolate_page_range(): free blocks on the isolate lists go back to their own lists, merging.</summary>
    internal void UndoIsolation()
    {
        var held = _isoScratch;
        held.Clear();
        for (int o = 0; o < NrPageOrders; o++)
            for (int idx = _head[o * NrMt + MtIsolate]; idx != Nil; idx = M(idx).Next) held.Add((idx, o, MtIsolate));
        foreach (var (idx, o, _) in held) DelFromFreeList(idx, o, MtIsolate);
        _isoStart = _isoEnd = 0;
        foreach (var (idx, o, _) in held) FreeOne(idx, o, toTail: false);
    }

    /// <summary>Lists the allocated blocks overlapping [start, end) (head pfn, order, flags), in pfn order; false
    /// when a page of the range is not managed at all (hole or reservation).</summary>
    internal bool AllocatedBlocksIn(ulong start, ulong end, List<(ulong Head, int Order, PageFlags Flags)> blocks)
    {
        blocks.Clear();
        for (ulong pfn = start; pfn < end;)
        {
            if (!FindBlock(pfn, out ulong h, out int o, out var f)) return false;
            if ((f & PageFlags.Allocated) != 0) blocks.Add((h, o, f));
            pfn = h + (1UL << o);
        }
        return true;
    }

    /// <summary>
    /// Takes every page of [start, end) off the free lists and marks the range allocated (as naturally aligned
    /// chunks flagged Contig). Parts of free blocks outside the range are given back. Fails without change unless
    /// every page in the range is free.
    /// </summary>
    internal bool TryClaimFreeRange(ulong start, ulong end)
    {
        if (start < StartPfn.Value || end > EndPfn.Value || start >= end) return false;
        var free = _claimScratch;
        free.Clear();
        for (ulong pfn = start; pfn < end;)
        {
            if (!FindBlock(pfn, out ulong h, out int o, out var f) || (f & PageFlags.Buddy) == 0) return false;
            free.Add((h, o));
            pfn = h + (1UL << o);
        }
        foreach (var (h, o) in free)
        {
            int idx = (int)(h - StartPfn.Value);
            DelFromFreeList(idx, o, MtOf(idx));
        }
        // Mark the claimed range first so the give-back below cannot merge into it.
        for (ulong s = start; s < end;)
        {
            int order = ChunkOrder(s, end);
            ref var p = ref M((int)(s - StartPfn.Value));
            p.Order = (byte)order;
            p.Flags = (p.Flags & ~(PageFlags.Buddy | PageFlags.Movable)) | PageFlags.Allocated | PageFlags.Contig;
            s += 1UL << order;
        }
        foreach (var (h, o) in free)
        {
            ulong bEnd = h + (1UL << o);
            if (h < start) FreeRangeChunks(h, start, toTail: false);
            if (bEnd > end) FreeRangeChunks(end, bEnd, toTail: false);
        }
        return true;
    }

    /// <summary>free_contig_range(): gives back a range claimed by <see cref="TryClaimFreeRange"/>.</summary>
    internal void FreeContigRange(ulong start, ulong end)
    {
        for (ulong s = start; s < end;)
        {
            int order = ChunkOrder(s, end);
            int idx = CheckedIndex(new Pfn(s));
            ref var p = ref M(idx);
            if ((p.Flags & (PageFlags.Allocated | PageFlags.Contig)) != (PageFlags.Allocated | PageFlags.Contig) || p.Order != order)
                ThrowBadFree(new Pfn(s), order, p);
            p.Flags &= ~(PageFlags.Allocated | PageFlags.Contig);
            FreeOne(idx, order, toTail: false);
            s += 1UL << order;
        }
    }
}
