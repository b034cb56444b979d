namespace DmaLab.Mm;

/// <summary>Movable allocations owned through handles, page pinning, migration and alloc_contig_range()
/// (Linux: mm/migrate.c, migrate_pages(); mm/page_alloc.c, alloc_contig_range(); mm/gup.c, pinning).</summary>
public sealed partial class PageAllocator
{
    ulong[] _hPfn = [];
    byte[] _hOrder = [];
    int[] _hPins = [];
    int[] _hGen = [];
    int[] _hNextFree = [];
    int _hFree = -1, _hUsed, _hLive;
    readonly List<(ulong Head, int Order, PageFlags Flags)> _scratchBlocks = new();

    void InitHandles() => GrowHandles(64);

    void GrowHandles(int n)
    {
        int old = _hPfn.Length;
        Array.Resize(ref _hPfn, n); Array.Resize(ref _hOrder, n); Array.Resize(ref _hPins, n);
        Array.Resize(ref _hGen, n); Array.Resize(ref _hNextFree, n);
    }

    /// <summary>Live movable allocations.</summary>
    public int MovableCount => _hLive;

    /// <summary>
    /// Allocates 2^order movable pages (gfp gains __GFP_MOVABLE, so CMA pageblocks may serve it) owned through a
    /// handle. Resolve the handle for the current address: migration may move it.
    /// </summary>
    public bool TryAllocMovable(int order, Gfp gfp, out MovableHandle handle)
    {
        gfp |= Gfp.Movable;
        if (!TryAllocPfn(order, gfp, out Pfn pfn)) { handle = default; return false; }
        if ((gfp & Gfp.Zero) != 0) _mem.Fill(pfn.Address, PhysAddr.PageSize << order, 0);
        int i;
        if (_hFree >= 0) { i = _hFree; _hFree = _hNextFree[i]; }
        else
        {
            if (_hUsed == _hPfn.Length) GrowHandles(_hPfn.Length * 2);
            i = _hUsed++;
        }
        int gen = (Math.Abs(_hGen[i]) % int.MaxValue) + 1;    // free slots hold -(last generation)
        _hGen[i] = gen;
        _hPfn[i] = pfn.Value; _hOrder[i] = (byte)order; _hPins[i] = 0; _hLive++;
        ZoneOf(pfn).Buddy.SetMovableOwner(pfn.Value, i);
        handle = new MovableHandle(i, gen);
        return true;
    }

    int Check(MovableHandle h)
    {
        if ((uint)h.Index >= (uint)_hUsed || h.Generation <= 0 || _hGen[h.Index] != h.Generation)
            throw new InvalidOperationException($"stale or invalid movable handle {h}");
        return h.Index;
    }

    /// <summary>The current physical address of a movable allocation.</summary>
    public PhysAddr Resolve(MovableHandle h) => new Pfn(_hPfn[Check(h)]).Address;
    public int OrderOf(MovableHandle h) => _hOrder[Check(h)];

    /// <summary>pin_user_pages()/get_user_pages(): while pinned the pages cannot be migrated (migration sees the
    /// extra reference and fails, so alloc_contig_range() returns -EBUSY).</summary>
    public void Pin(MovableHandle h) => _hPins[Check(h)]++;

    public void Unpin(MovableHandle h)
    {
        int i = Check(h);
        if (_hPins[i] == 0) throw new InvalidOperationException($"unpin of unpinned movable handle {h}");
        _hPins[i]--;
    }

    public bool IsPinned(MovableHandle h) => _hPins[Check(h)] > 0;

    public void FreeMovable(MovableHandle h)
    {
        int i = Check(h);
        if (_hPins[i] != 0) throw new InvalidOperationException($"free of pinned movable allocation {h}");
        var pfn = new Pfn(_hPfn[i]);
        ZoneOf(pfn).Buddy.Free(pfn, _hOrder[i], PageFlags.Allocated | PageFlags.Movable);
        _inUse -= 1L << _hOrder[i];
        _hGen[i] = -_hGen[i];      // negative: free slot; stale handles no longer match
        _hNextFree[i] = _hFree; _hFree = i; _hLive--;
    }

    /// <summary>
    /// Moves one movable allocation to a new home (Linux: migrate_pages() with alloc_migration_target()): a new
    /// block of the same order outside any isolated range, the real bytes copied, the handle updated, the old block
    /// freed. False when no target page could be allocated (-ENOMEM).
    /// </summary>
    bool Migrate(int i)
    {
        int order = _hOrder[i];
        if (!TryAllocPfn(order, Gfp.Movable | Gfp.NoWarn, out Pfn target)) return false;
        var old = new Pfn(_hPfn[i]);
        ulong bytes = PhysAddr.PageSize << order;
        if (_mem.Copy(target.Address, old.Address, bytes) != MemAccess.Ok)
            throw new InvalidOperationException($"migration copy {old.Address} → {target.Address} hit a bus error");
        ZoneOf(target).Buddy.SetMovableOwner(target.Value, i);
        _hPfn[i] = target.Value;
        ZoneOf(old).Buddy.Free(old, order, PageFlags.Allocated | PageFlags.Movable);
        _inUse -= 1L << order;
        return true;
    }

    /// <summary>
    /// alloc_contig_range(start, end): isolates the pageblocks, migrates every movable allocation out of the range,
    /// then takes all its pages. Returns 0, -EBUSY (a pinned or unmovable page, or a page that is not managed) or
    /// -ENOMEM (no migration target). Pages migrated before a failure stay migrated, as in the kernel.
    /// </summary>
    internal int AllocContigRange(Pfn start, Pfn end, ref ContigStats stats)
    {
        var zone = ZoneOf(start);
        if (end.Value - 1 - zone.StartPfn.Value >= zone.Buddy.SpanPages) return -Errno.EINVAL;
        var buddy = zone.Buddy;
        buddy.IsolateRange(start.Value, end.Value);
        int ret = 0;
        if (!buddy.AllocatedBlocksIn(start.Value, end.Value, _scratchBlocks)) ret = -Errno.EBUSY;
        else
        {
            foreach (var (head, order, flags) in _scratchBlocks)
            {
                if ((flags & PageFlags.Movable) == 0) { stats.UnmovablePages += 1L << order; ret = -Errno.EBUSY; continue; }
                int h = buddy.GetOwner(head);
                if (_hPins[h] > 0) { stats.PinnedPages += 1L << order; stats.MigrationFailures++; ret = -Errno.EBUSY; continue; }
                if (!Migrate(h)) { stats.MigrationFailures++; ret = -Errno.ENOMEM; break; }
                stats.PagesMigrated += 1L << order;
            }
            if (ret == 0 && !buddy.TryClaimFreeRange(start.Value, end.Value)) ret = -Errno.EBUSY;
        }
        buddy.UndoIsolation();
        if (ret == 0) _inUse += (long)(end.Value - start.Value);
        return ret;
    }

    /// <summary>free_contig_range().</summary>
    internal void FreeContigRange(Pfn start, Pfn end)
    {
        ZoneOf(start).Buddy.FreeContigRange(start.Value, end.Value);
        _inUse -= (long)(end.Value - start.Value);
    }

    /// <summary>Claims a range of free pages outright (memblock-style boot reservation made after the buddy exists).</summary>
    internal bool TryClaimFreeRange(Pfn start, Pfn end)
    {
        var zone = ZoneOf(start);
        if (end.Value - 1 - zone.StartPfn.Value >= zone.Buddy.SpanPages) return false;
        if (!zone.Buddy.TryClaimFreeRange(start.Value, end.Value)) return false;
        _inUse += (long)(end.Value - start.Value);
        return true;
    }

    void ValidateHandles()
    {
        int live = 0;
        for (int i = 0; i < _hUsed; i++)
        {
            if (_hGen[i] <= 0) continue;
            live++;
            var pfn = new Pfn(_hPfn[i]);
            var b = ZoneOf(pfn).Buddy;
            if (!b.FindBlock(pfn.Value, out ulong head, out int order, out var f) || head != pfn.Value || order != _hOrder[i]
                || (f & (PageFlags.Allocated | PageFlags.Movable)) != (PageFlags.Allocated | PageFlags.Movable) || b.GetOwner(head) != i)
                throw new InvalidOperationException($"movable handle {i} points at {pfn}, which is not its allocated movable block");
        }
        if (live != _hLive) throw new InvalidOperationException($"movable handles: {live} live, counter {_hLive}");
    }
}
