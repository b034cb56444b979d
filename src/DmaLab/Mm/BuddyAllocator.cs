using System.Runtime.CompilerServices;

namespace DmaLab.Mm;

/// <summary>
/// The binary buddy allocator of one zone (Linux: mm/page_alloc.c, __rmqueue_smallest(), expand(),
/// __free_one_page(); struct free_area in include/linux/mmzone.h). Orders 0..<see cref="MaxPageOrder"/>; the buddy
/// of a block is pfn ^ (1 &lt;&lt; order). Free lists are kept per order and per migratetype class (regular,
/// MIGRATE_CMA, MIGRATE_ISOLATE) as intrusive doubly-linked lists over a compact per-page struct array, so an
/// allocation or free touches only a few array slots and allocates nothing.
/// Not modelled: per-cpu page lists, watermarks and lowmem_reserve, and the grouping of unmovable/reclaimable/
/// movable pageblocks (one regular class stands for all three).
/// </summary>
public sealed partial class BuddyAllocator
{
    /// <summary>MAX_PAGE_ORDER (include/linux/mmzone.h; CONFIG_ARCH_FORCE_MAX_ORDER default 10 for 4 KiB pages).</summary>
    public const int MaxPageOrder = 10;
    /// <summary>NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1.</summary>
    public const int NrPageOrders = MaxPageOrder + 1;
    /// <summary>pageblock_order = min(HUGETLB_PAGE_ORDER, MAX_PAGE_ORDER) = 9 with 4 KiB pages (include/linux/pageblock-flags.h).</summary>
    public const int PageblockOrder = 9;

    internal const int MtRegular = 0, MtCma = 1, MtIsolate = 2;
    const int NrMt = 3;
    const int SecShift = 15;                 // metadata allocated per 128 MiB of span, only where DRAM is present
    const int SecMask = (1 << SecShift) - 1;
    const int Nil = -1;

    readonly PageMeta[]?[] _sec;
    readonly int[] _head = new int[NrPageOrders * NrMt];
    readonly int[] _tail = new int[NrPageOrders * NrMt];
    readonly long[] _nrFree = new long[NrPageOrders * NrMt];
    long _freePages, _freeCmaPages, _managedPages, _cmaPages;
    ulong _isoStart, _isoEnd;                 // pfns of the isolated pageblock range, empty when equal

    public BuddyAllocator(Pfn start, ulong spanPages)
    {
        if (spanPages > int.MaxValue) throw new ArgumentException($"zone span of {spanPages} pages is too large");
        StartPfn = start;
        SpanPages = spanPages;
        _sec = new PageMeta[]?[(int)((spanPages + SecMask) >> SecShift)];
        Array.Fill(_head, Nil);
        Array.Fill(_tail, Nil);
    }

    /// <summary>zone_start_pfn.</summary>
    public Pfn StartPfn { get; }
    /// <summary>spanned_pages (holes included).</summary>
    public ulong SpanPages { get; }
    public Pfn EndPfn => StartPfn + SpanPages;
    /// <summary>managed_pages: pages handed to the buddy allocator.</summary>
    public long ManagedPages => _managedPages;
    /// <summary>NR_FREE_PAGES.</summary>
    public long FreePages => _freePages;
    /// <summary>NR_FREE_CMA_PAGES.</summary>
    public long FreeCmaPages => _freeCmaPages;
    /// <summary>Pages in MIGRATE_CMA pageblocks.</summary>
    public long CmaPages => _cmaPages;

    /// <summary>free_area[order].nr_free over all migratetypes (what /proc/buddyinfo shows).</summary>
    public long NrFree(int order)
    {
        long n = 0;
        for (int mt = 0; mt < NrMt; mt++) n += _nrFree[order * NrMt + mt];
        return n;
    }

    public bool Contains(Pfn pfn) => pfn.Value - StartPfn.Value < SpanPages;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    ref PageMeta M(int idx) =>
        // Callers pass indices of pages in allocated sections (checked on entry), so skip the inner bounds check.
        ref Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_sec[idx >> SecShift]!), idx & SecMask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool Exists(long idx) => (ulong)idx < SpanPages && _sec[idx >> SecShift] is not null;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int MtOf(int idx)
    {
        ulong pfn = StartPfn.Value + (ulong)idx;
        if (pfn - _isoStart < _isoEnd - _isoStart) return MtIsolate;
        return (M(idx).Flags & PageFlags.Cma) != 0 ? MtCma : MtRegular;
    }

    // ---- free lists -------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void AddToFreeList(int idx, int order, int mt, bool tail)
    {
        int l = order * NrMt + mt;
        ref var p = ref M(idx);
        p.Order = (byte)order;
        p.Flags = (p.Flags & ~(PageFlags.Allocated | PageFlags.Movable | PageFlags.Contig)) | PageFlags.Buddy;
        if (tail)
        {
            p.Next = Nil; p.Prev = _tail[l];
            if (_tail[l] != Nil) M(_tail[l]).Next = idx; else _head[l] = idx;
            _tail[l] = idx;
        }
        else
        {
            p.Prev = Nil; p.Next = _head[l];
            if (_head[l] != Nil) M(_head[l]).Prev = idx; else _tail[l] = idx;
            _head[l] = idx;
        }
        _nrFree[l]++;
        long pages = 1L << order;
        _freePages += pages;
        if (mt == MtCma) _freeCmaPages += pages;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void DelFromFreeList(int idx, int order, int mt)
    {
        int l = order * NrMt + mt;
        ref var p = ref M(idx);
        if (p.Prev != Nil) M(p.Prev).Next = p.Next; else _head[l] = p.Next;
        if (p.Next != Nil) M(p.Next).Prev = p.Prev; else _tail[l] = p.Prev;
        p.Flags &= ~PageFlags.Buddy;
        _nrFree[l]--;
        long pages = 1L << order;
        _freePages -= pages;
        if (mt == MtCma) _freeCmaPages -= pages;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool IsFreeHead(long idx, int order)
    {
        if (!Exists(idx)) return false;
        ref var p = ref M((int)idx);
        return (p.Flags & PageFlags.Buddy) != 0 && p.Order == order;
    }

    // ---- allocation -------------------------------------------------------------------------------------

    /// <summary>
    /// Allocates 2^order pages. <paramref name="allowCma"/> is ALLOC_CMA (movable allocations): such an allocation
    /// takes CMA pageblocks first when more than half of the zone's free pages are CMA, falls back to them when the
    /// regular lists are empty (Linux: __rmqueue(), __rmqueue_cma_fallback()).
    /// </summary>
    public bool TryAlloc(int order, bool allowCma, out Pfn pfn)
    {
        int idx;
        if (allowCma && _freeCmaPages > _freePages / 2 && (idx = RmqueueSmallest(order, MtCma)) >= 0) { }
        else if ((idx = RmqueueSmallest(order, MtRegular)) >= 0) { }
        else if (!allowCma || (idx = RmqueueSmallest(order, MtCma)) < 0) { pfn = default; return false; }
        ref var p = ref M(idx);
        p.Flags |= PageFlags.Allocated;
        p.Order = (byte)order;
        pfn = StartPfn + (ulong)idx;
        return true;
    }

    int RmqueueSmallest(int order, int mt)
    {
        for (int o = order; o < NrPageOrders; o++)
        {
            int idx = _head[o * NrMt + mt];
            if (idx == Nil) continue;
            DelFromFreeList(idx, o, mt);
            // expand(): hand the upper halves back, keep the lowest 2^order pages.
            while (o > order)
            {
                o--;
                AddToFreeList(idx + (1 << o), o, mt, tail: false);
            }
            return idx;
        }
        return Nil;
    }

    // ---- free -------------------------------------------------------------------------------------------

    /// <summary>Frees a block this allocator handed out (__free_pages()). Freeing anything else is a DmaLab bug.</summary>
    public void Free(Pfn pfn, int order) => Free(pfn, order, PageFlags.Allocated);

    /// <summary>Frees a block whose head carries exactly the <paramref name="expected"/> ownership flags
    /// (plain, movable or contig), so a block is always given back the way it was taken.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Free(Pfn pfn, int order, PageFlags expected)
    {
        int idx = CheckedIndex(pfn);
        ref var p = ref M(idx);
        if ((p.Flags & (PageFlags.Allocated | PageFlags.Movable | PageFlags.Contig)) != expected || p.Order != order)
            ThrowBadFree(pfn, order, p);
        p.Flags &= ~(PageFlags.Allocated | PageFlags.Movable | PageFlags.Contig);
        FreeOne(idx, order, toTail: false);
    }

    /// <summary>
    /// __free_one_page(): merge with free buddies while possible, then put the block on its list. A block never
    /// merges across a pageblock whose migratetype differs (CMA, isolated), as migratetype_is_mergeable() decides.
    /// Without FPI_TO_TAIL the block goes to the tail when its buddy one order up is free (buddy_merge_likely()).
    /// </summary>
    void FreeOne(int idx, int order, bool toTail)
    {
        int mt = MtOf(idx);
        ulong start = StartPfn.Value;
        ulong pfn = start + (ulong)idx;
        while (order < MaxPageOrder)
        {
            ulong buddyPfn = pfn ^ (1UL << order);
            long bidx = (long)(buddyPfn - start);
            if (buddyPfn < start || !IsFreeHead(bidx, order)) break;
            int bmt = MtOf((int)bidx);
            if (order >= PageblockOrder && bmt != mt && (mt != MtRegular || bmt != MtRegular)) break;
            DelFromFreeList((int)bidx, order, bmt);
            pfn &= buddyPfn;
            order++;
        }
        idx = (int)(pfn - start);
        if (!toTail && order < MaxPageOrder - 1)
        {
            ulong higher = pfn & (pfn ^ (1UL << order));
            ulong higherBuddy = higher ^ (1UL << (order + 1));
            toTail = higherBuddy >= start && IsFreeHead((long)(higherBuddy - start), order + 1);
        }
        AddToFreeList(idx, order, mt, toTail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int CheckedIndex(Pfn pfn)
    {
        ulong off = pfn.Value - StartPfn.Value;
        if (off >= SpanPages || _sec[off >> SecShift] is null || (M((int)off).Flags & PageFlags.Present) == 0)
            ThrowNotManaged(pfn);
        return (int)off;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void ThrowNotManaged(Pfn pfn) =>
        throw new InvalidOperationException($"{pfn} (0x{pfn.Address.Value:x}) is not a managed page of this zone");

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void ThrowBadFree(Pfn pfn, int order, in PageMeta p) =>
        throw new InvalidOperationException(
            $"bad free of 0x{pfn.Address.Value:x} order {order}: page is {((p.Flags & PageFlags.Allocated) != 0 ? $"an allocated head of order {p.Order} ({p.Flags})" : "not an allocated block head")}");

    // ---- boot -------------------------------------------------------------------------------------------

    /// <summary>
    /// Hands [start, end) to the allocator as memblock_free_all() does (__free_pages_memory(): naturally aligned
    /// chunks of up to MAX_PAGE_ORDER, freed with FPI_TO_TAIL). <paramref name="cma"/> marks the pages as
    /// MIGRATE_CMA pageblocks first (init_cma_reserved_pageblock()).
    /// </summary>
    internal void AddMemory(Pfn start, Pfn end, bool cma)
    {
        if (start < StartPfn || end > EndPfn || start > end)
            throw new ArgumentException($"range [{start}, {end}) is outside the zone [{StartPfn}, {EndPfn})");
        for (ulong pfn = start.Value; pfn < end.Value; pfn++)
        {
            int idx = (int)(pfn - StartPfn.Value);
            ref var sec = ref _sec[idx >> SecShift];
            sec ??= new PageMeta[1 << SecShift];
            ref var p = ref sec[idx & SecMask];
            if ((p.Flags & PageFlags.Present) != 0) throw new InvalidOperationException($"{new Pfn(pfn)} handed to the buddy allocator twice");
            p.Flags = PageFlags.Present | (cma ? PageFlags.Cma : 0);
        }
        long n = (long)(end.Value - start.Value);
        _managedPages += n;
        if (cma) _cmaPages += n;
        FreeRangeChunks(start.Value, end.Value, toTail: !cma);   // CMA pageblocks go through plain __free_pages()
    }

    /// <summary>Frees [s, e) as the largest naturally aligned chunks that fit.</summary>
    void FreeRangeChunks(ulong s, ulong e, bool toTail)
    {
        while (s < e)
        {
            int order = ChunkOrder(s, e);
            FreeOne((int)(s - StartPfn.Value), order, toTail);
            s += 1UL << order;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int ChunkOrder(ulong s, ulong e)
    {
        int order = s == 0 ? MaxPageOrder : Math.Min(MaxPageOrder, System.Numerics.BitOperations.TrailingZeroCount(s));
        while (s + (1UL << order) > e) order--;
        return order;
    }

    /// <summary>The block (free or allocated) containing pfn: its head pfn, order and flags. False for holes and
    /// pages outside any block (reserved).</summary>
    internal bool FindBlock(ulong pfn, out ulong head, out int order, out PageFlags flags)
    {
        ulong start = StartPfn.Value;
        for (int o = 0; o < NrPageOrders; o++)
        {
            ulong h = pfn & ~((1UL << o) - 1);
            if (h < start) break;
            long idx = (long)(h - start);
            if (!Exists(idx)) continue;
            ref var p = ref M((int)idx);
            if ((p.Flags & (PageFlags.Buddy | PageFlags.Allocated)) != 0 && p.Order >= o)
            {
                if (pfn - h >= 1UL << p.Order) break;
                head = h; order = p.Order; flags = p.Flags;
                return true;
            }
        }
        head = 0; order = 0; flags = 0;
        return false;
    }

    /// <summary>Handle stored on an allocated movable head page.</summary>
    internal int GetOwner(ulong headPfn) => M((int)(headPfn - StartPfn.Value)).Next;

    internal void SetMovableOwner(ulong headPfn, int handle)
    {
        ref var p = ref M((int)(headPfn - StartPfn.Value));
        p.Flags |= PageFlags.Movable;
        p.Next = handle;
    }
}
