using System.Numerics;
using System.Runtime.CompilerServices;
using DmaLab.Mm;

namespace DmaLab.Iommu.PageTables;

/// <summary>
/// The multi-level radix walk every io-pgtable format shares: descend from the root, allocate missing tables
/// from the page allocator, write leaf descriptors (replicated where the format uses contiguous copies), unmap,
/// free tables by the format's rule, and walk as the hardware does. Descriptor encoding and policies come from
/// <typeparamref name="TFormat"/> (Linux: the per-format __arm_lpae_map()/__arm_v7s_map()/alloc_pte()/pfn_to_dma_pte()
/// each reimplement this walk; here it exists once).
/// </summary>
public abstract class IoPgtableRadix<TFormat> : IIoPgtable where TFormat : struct, IPteFormat
{
    protected const int EINVAL = 22, ENOMEM = 12, ERANGE = 34;
    const int MaxLevels = 8;

    protected readonly TFormat Fmt;
    protected readonly PhysicalMemory Memory;
    protected readonly IPageAllocator PageAllocator;
    readonly IIommuFlushOps? _tlb;
    readonly ulong _iovaMax, _paddrMax;
    readonly sbyte[] _leafLevel = new sbyte[64];
    PhysAddr _root;
    long _tablePages;
    bool _freed;

    // Software walk cache: the last-level table that covers a span of IOVA space, so a map or unmap of a page in
    // it starts there instead of descending from the root (the kernel re-walks every time; the result is the same
    // because the path above a cached table cannot change while the table lives: upper entries are only cleared
    // when a table is freed, and every free goes through FreeTable, which retires all cached entries).
    const int WalkCacheSize = 16;
    struct CachedTable
    {
        public ulong SpanPlusOne;   // 0 = empty
        public ulong Table;
        public uint Generation;
    }
    readonly CachedTable[] _walkCache = new CachedTable[WalkCacheSize];
    uint _walkCacheGeneration = 1;
    readonly int _lastLevel, _lastSpanShift;

    protected IoPgtableRadix(IoPgtableFormat format, IoPgtableConfig config, PhysicalMemory memory, IPageAllocator pages, TFormat fmt)
    {
        Format = format;
        Config = config;
        Memory = memory;
        PageAllocator = pages;
        Fmt = fmt;
        _tlb = config.Tlb;
        if (fmt.Levels < 1 || fmt.Levels > MaxLevels) throw new ArgumentException($"{format}: {fmt.Levels} levels is outside 1..{MaxLevels}");
        _iovaMax = config.Ias >= 64 ? ulong.MaxValue : (1UL << config.Ias) - 1;
        _paddrMax = config.Oas >= 64 ? ulong.MaxValue : (1UL << config.Oas) - 1;
        for (int i = 0; i < 64; i++)
        {
            _leafLevel[i] = -1;
            if (((config.PgsizeBitmap >> i) & 1) == 0) continue;
            int lvl = fmt.LeafLevel(1UL << i);
            if (lvl < 0) throw new ArgumentException($"{format}: page size 0x{1UL << i:x} in the bitmap has no level");
            _leafLevel[i] = (sbyte)lvl;
        }
        if (config.PgsizeBitmap == 0) throw new ArgumentException($"{format}: no usable page size left in pgsize_bitmap");
        _lastLevel = fmt.Levels - 1;
        // One table at the last level covers the span of one entry of the level above; single-level formats have
        // nothing to skip, so their cache never hits (span shift 64).
        _lastSpanShift = fmt.Levels > 1 ? fmt.Shift(fmt.Levels - 2) : 64;
        if (!TryAllocTable(0, out _root)) throw new InvalidOperationException($"{format}: no free page for the root table");
    }

    public IoPgtableFormat Format { get; }
    public IoPgtableConfig Config { get; }
    public PhysAddr Root => _root;
    public long TablePages => _tablePages;

    // ---- descriptor access -------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected ulong ReadPte(ulong addr)
    {
        if (TFormat.EntryBytes == 8) { Memory.TryReadU64(new PhysAddr(addr), out ulong v); return v; }
        Memory.TryReadU32(new PhysAddr(addr), out uint w);
        return w;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool TryReadPte(ulong addr, out ulong value)
    {
        if (TFormat.EntryBytes == 8) return Memory.TryReadU64(new PhysAddr(addr), out value);
        bool ok = Memory.TryReadU32(new PhysAddr(addr), out uint w);
        value = w;
        return ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void WritePte(ulong addr, ulong value)
    {
        if (TFormat.EntryBytes == 8) Memory.TryWriteU64(new PhysAddr(addr), value);
        else Memory.TryWriteU32(new PhysAddr(addr), (uint)value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    ulong EntryAddr(ulong table, int lvl, ulong iova)
        => table + ((iova >> Fmt.Shift(lvl)) & ((1UL << Fmt.IndexBits(lvl)) - 1)) * (ulong)TFormat.EntryBytes;

    /// <summary>The cached last-level table covering <paramref name="iova"/>, if any.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool TryCachedLastTable(ulong iova, out ulong table)
    {
        table = 0;
        if (_lastSpanShift >= 64) return false;
        ulong span = iova >> _lastSpanShift;
        ref var e = ref _walkCache[(int)(span & (WalkCacheSize - 1))];
        table = e.Table;
        return e.SpanPlusOne == span + 1 && e.Generation == _walkCacheGeneration;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void CacheLastTable(ulong iova, ulong table)
    {
        if (_lastSpanShift >= 64) return;
        ulong span = iova >> _lastSpanShift;
        ref var e = ref _walkCache[(int)(span & (WalkCacheSize - 1))];
        e.SpanPlusOne = span + 1;
        e.Table = table;
        e.Generation = _walkCacheGeneration;
    }

    bool TryAllocTable(int lvl, out PhysAddr table)
    {
        int order = Fmt.TableOrder(lvl);
        if (!PageAllocator.TryAllocPages(order, Gfp.Zero | Gfp.Atomic | Config.TableGfp, out table)) return false;
        // The walker follows table pointers no wider than its output address: a table it cannot reach is refused
        // (Linux: io-pgtable-arm-v7s.c arm_v7s_alloc_table() "Page table does not fit in PTE"; io-pgtable-arm.c
        // __arm_lpae_alloc_pages() "Cannot accommodate DMA translation for IOMMU page tables").
        if (table.Value + (PhysAddr.PageSize << order) - 1 > _paddrMax)
        {
            PageAllocator.FreePages(table, order);
            table = default;
            return false;
        }
        // A fresh table must read as all-invalid whatever the page held before. Zeroing in place keeps the host
        // page of a table that is freed and allocated again (OMAP/Tegra free a table as soon as it empties), so the
        // map/unmap cycle does not allocate; a page never written stays unbacked and reads as zero anyway.
        Memory.Fill(table, PhysAddr.PageSize << order, 0);
        ulong empty = TFormat.EmptyEntry(lvl == Fmt.Levels - 1);
        if (empty != 0)
        {
            ulong n = 1UL << Fmt.IndexBits(lvl);
            for (ulong i = 0; i < n; i++) WritePte(table.Value + i * (ulong)TFormat.EntryBytes, empty);
        }
        _tablePages += 1L << order;
        return true;
    }

    void FreeTable(ulong table, int lvl)
    {
        _walkCacheGeneration++;
        int order = Fmt.TableOrder(lvl);
        PageAllocator.FreePages(new PhysAddr(table), order);
        _tablePages -= 1L << order;
    }

    /// <summary>Frees a table and every table below it (Linux: __arm_lpae_free_pgtable(), free_sub_pt()).</summary>
    void FreeSubtree(ulong table, int lvl)
    {
        if (lvl < Fmt.Levels - 1)
        {
            ulong n = 1UL << Fmt.IndexBits(lvl);
            for (ulong i = 0; i < n; i++)
            {
                ulong pte = ReadPte(table + i * (ulong)TFormat.EntryBytes);
                if (Fmt.Classify(pte, lvl) == PteKind.Table) FreeSubtree(Fmt.TableAddress(pte, lvl), Fmt.NextLevel(pte, lvl));
            }
        }
        FreeTable(table, lvl);
    }

    /// <summary>True when no entry of the table is valid. The scan starts at <paramref name="from"/> and wraps, so a
    /// table with live neighbours of the entry just cleared is recognised after a read or two.</summary>
    bool TableIsEmpty(ulong table, int lvl, ulong from = 0)
    {
        ulong n = 1UL << Fmt.IndexBits(lvl);
        for (ulong k = 0; k < n; k++)
        {
            ulong i = (from + k) & (n - 1);
            if (Fmt.Classify(ReadPte(table + i * (ulong)TFormat.EntryBytes), lvl) != PteKind.Invalid) return false;
        }
        return true;
    }

    /// <summary>Clears every entry of the leaf at <paramref name="iova"/> (all replicated copies).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void ClearLeaf(ulong table, int lvl, ulong iova, ulong pte)
    {
        int shift = Fmt.Shift(lvl);
        ulong count = TFormat.IncrementingLeaves ? 1 : Fmt.LeafSize(pte, lvl) >> shift;
        if (count <= 1) WritePte(EntryAddr(table, lvl, iova), Fmt.ClearedLeaf(pte));
        else ClearReplicatedLeaf(table, lvl, iova, shift, count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void ClearReplicatedLeaf(ulong table, int lvl, ulong iova, int shift, ulong count)
    {
        ulong first = EntryAddr(table, lvl, iova & ~((count << shift) - 1));
        for (ulong i = 0; i < count; i++)
        {
            ulong a = first + i * (ulong)TFormat.EntryBytes;
            WritePte(a, Fmt.ClearedLeaf(ReadPte(a)));
        }
    }

    // ---- map ---------------------------------------------------------------------------------------------

    public int MapPages(ulong iova, ulong paddr, ulong pgsize, ulong pgcount, IommuProt prot, out ulong mapped)
    {
        mapped = 0;
        if (_freed) throw new InvalidOperationException($"{Format}: map on a freed page table");
        if (pgcount == 0 || !BitOperations.IsPow2(pgsize) || (pgsize & Config.PgsizeBitmap) == 0) return -EINVAL;
        if (((iova | paddr) & (pgsize - 1)) != 0) return -EINVAL;
        if (pgcount > _iovaMax / pgsize + 1) return -ERANGE;
        ulong last = pgsize * pgcount - 1;
        if (iova > _iovaMax || last > _iovaMax - iova || paddr > _paddrMax || last > _paddrMax - paddr) return -ERANGE;
        if ((prot & (IommuProt.Read | IommuProt.Write)) == 0 && TFormat.NoAccessResult <= 0) return TFormat.NoAccessResult;

        int leaf = _leafLevel[BitOperations.TrailingZeroCount(pgsize)];
        // Pages after the first that fall in the same leaf table reuse it instead of walking down from the root
        // again: a successful map only writes entries at the leaf level, so the descent would end at that table.
        int tableSpanShift = leaf > 0 ? Fmt.Shift(leaf - 1) : 64;
        ulong leafTable = 0, prevIova = 0;
        bool first = true;
        for (; pgcount > 0; pgcount--)
        {
            bool sameTable = !first && (tableSpanShift >= 64 || ((iova ^ prevIova) >> tableSpanShift) == 0);
            int rc = MapOne(iova, paddr, pgsize, leaf, prot, ref leafTable, sameTable);
            if (rc != 0) return rc;
            first = false;
            prevIova = iova;
            iova += pgsize;
            paddr += pgsize;
            mapped += pgsize;
        }
        return 0;
    }

    /// <summary>Maps one page of <paramref name="pgsize"/>. <paramref name="table"/> returns the table the leaf went
    /// into; with <paramref name="tableKnown"/> it already holds that table and the descent is skipped.</summary>
    int MapOne(ulong iova, ulong paddr, ulong pgsize, int leaf, IommuProt prot, ref ulong table, bool tableKnown)
    {
        int startLvl = 0;
        if (tableKnown) startLvl = leaf;
        else if (leaf == _lastLevel && TryCachedLastTable(iova, out table)) startLvl = leaf;
        else table = _root.Value;
        for (int lvl = startLvl; lvl < leaf; lvl++)
        {
            ulong ea = EntryAddr(table, lvl, iova);
            ulong pte = ReadPte(ea);
            PteKind kind = Fmt.Classify(pte, lvl);
            if (kind == PteKind.Table) { table = Fmt.TableAddress(pte, lvl); continue; }
            if (kind == PteKind.Leaf)
            {
                // A bigger leaf covers the new page: most formats demand an unmap first.
                if (TFormat.LeafOverlap == LeafOverlapPolicy.Fail) return TFormat.OverlapErrno;
                ClearLeaf(table, lvl, iova, pte);
                _tlb?.TlbFlushWalk(iova & ~(Fmt.LeafSize(pte, lvl) - 1), Fmt.LeafSize(pte, lvl), 1UL << Fmt.Shift(lvl));
            }
            if (!TryAllocTable(lvl + 1, out PhysAddr next)) return -ENOMEM;
            WritePte(ea, Fmt.MakeTable(next.Value, lvl));
            table = next.Value;
        }
        if (startLvl < leaf && leaf == _lastLevel) CacheLastTable(iova, table);

        int shift = Fmt.Shift(leaf);
        ulong count = pgsize >> shift;
        ulong first = EntryAddr(table, leaf, iova);
        bool sawTable = false;
        for (ulong i = 0; i < count; i++)
        {
            ulong pte = ReadPte(first + i * (ulong)TFormat.EntryBytes);
            PteKind kind = Fmt.Classify(pte, leaf);
            if (kind == PteKind.Leaf && TFormat.LeafOverlap == LeafOverlapPolicy.Fail) return TFormat.OverlapErrno;
            if (kind == PteKind.Table)
            {
                if (TFormat.TableUnderLeaf == TableUnderLeafPolicy.Fail) return TFormat.OverlapErrno;
                if (TFormat.TableUnderLeaf == TableUnderLeafPolicy.ReplaceIfEmpty
                    && !TableIsEmpty(Fmt.TableAddress(pte, leaf), Fmt.NextLevel(pte, leaf))) return TFormat.OverlapErrno;
                sawTable = true;
            }
        }

        ulong entrySize = 1UL << shift;
        if (sawTable)
        {
            for (ulong i = 0; i < count; i++)
            {
                ulong a = first + i * (ulong)TFormat.EntryBytes;
                ulong pte = ReadPte(a);
                if (Fmt.Classify(pte, leaf) != PteKind.Table) continue;
                WritePte(a, 0);
                FreeSubtree(Fmt.TableAddress(pte, leaf), Fmt.NextLevel(pte, leaf));
                _tlb?.TlbFlushWalk(iova + i * entrySize, entrySize, 1UL << Fmt.Shift(leaf + 1));
            }
        }

        if (TFormat.IncrementingLeaves)
        {
            for (ulong i = 0; i < count; i++)
                WritePte(first + i * (ulong)TFormat.EntryBytes, Fmt.MakeLeaf(paddr + i * entrySize, entrySize, leaf, prot));
        }
        else
        {
            ulong value = Fmt.MakeLeaf(paddr, pgsize, leaf, prot);
            for (ulong i = 0; i < count; i++) WritePte(first + i * (ulong)TFormat.EntryBytes, value);
        }
        return 0;
    }

    // ---- unmap -------------------------------------------------------------------------------------------

    // The path buffer is written level by level before it is read, so it needs no zeroing.
    [SkipLocalsInit]
    public ulong UnmapPages(ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather)
    {
        if (_freed) throw new InvalidOperationException($"{Format}: unmap on a freed page table");
        if (pgcount == 0 || !BitOperations.IsPow2(pgsize) || (pgsize & Config.PgsizeBitmap) == 0) return 0;
        if ((iova & (pgsize - 1)) != 0 || iova > _iovaMax || pgcount > (_iovaMax - iova) / pgsize + 1) return 0;

        ulong size = pgsize * pgcount, unmapped = 0, cur = iova;
        Span<ulong> path = stackalloc ulong[MaxLevels];
        // Where the last leaf was cleared: the next address in the same table resumes there instead of walking
        // down from the root. Upper entries are unchanged by clearing a leaf, and none of the upper tables'
        // free decisions can change inside one table's span. Formats that free a table when it empties skip this.
        int lastLvl = -1;
        ulong lastTable = 0, lastCur = 0;
        bool lastLeaf = _leafLevel[BitOperations.TrailingZeroCount(pgsize)] == _lastLevel;
        while (unmapped < size)
        {
            ulong table = _root.Value;
            int lvl = 0;
            if (lastLvl > 0 && ((cur ^ lastCur) >> Fmt.Shift(lastLvl - 1)) == 0)
            {
                table = lastTable;
                lvl = lastLvl;
            }
            else if (lastLeaf && CanResumeAtLastLevel(size - unmapped) && TryCachedLastTable(cur, out ulong cached))
            {
                table = cached;
                lvl = _lastLevel;
            }
            lastLvl = -1;
            while (true)
            {
                path[lvl] = table;
                ulong ea = EntryAddr(table, lvl, cur);
                ulong pte = ReadPte(ea);
                PteKind kind = Fmt.Classify(pte, lvl);
                if (kind == PteKind.Leaf)
                {
                    ulong leafSize = TFormat.IncrementingLeaves ? 1UL << Fmt.Shift(lvl) : Fmt.LeafSize(pte, lvl);
                    ulong leafBase = cur & ~(leafSize - 1);
                    if ((leafSize > pgsize || leafBase != cur) && TFormat.PartialUnmap == PartialUnmapPolicy.Refuse)
                        return unmapped;
                    ClearLeaf(table, lvl, cur, pte);
                    if (!gather.Queued) _tlb?.TlbAddPage(ref gather, leafBase, leafSize);
                    if (TFormat.TableFree == TableFreePolicy.WhenEmpty && lvl > 0) FreeIfEmpty(path, lvl, cur);
                    else { lastLvl = lvl; lastTable = table; lastCur = cur; }
                    unmapped += leafSize;
                    cur = leafBase + leafSize;
                    break;
                }
                if (kind != PteKind.Table) return unmapped;
                if (lastLeaf && Fmt.NextLevel(pte, lvl) == _lastLevel) CacheLastTable(cur, Fmt.TableAddress(pte, lvl));

                ulong entrySize = 1UL << Fmt.Shift(lvl);
                ulong entryBase = cur & ~(entrySize - 1);
                bool free = TFormat.TableFree switch
                {
                    TableFreePolicy.BlockSizedUnmap => pgsize == entrySize,
                    TableFreePolicy.CoveringUnmap => entryBase == cur && entrySize <= size - unmapped,
                    _ => false,
                };
                if (free)
                {
                    // Unmapping a whole table's span: drop the table and everything under it, then make the
                    // walk caches forget it (Linux: io_pgtable_tlb_flush_walk() before freeing).
                    WritePte(ea, 0);
                    int next = Fmt.NextLevel(pte, lvl);
                    FreeSubtree(Fmt.TableAddress(pte, lvl), next);
                    _tlb?.TlbFlushWalk(entryBase, entrySize, 1UL << Fmt.Shift(next));
                    gather.FreedTablePages++;
                    unmapped += entrySize;
                    cur = entryBase + entrySize;
                    break;
                }
                table = Fmt.TableAddress(pte, lvl);
                lvl = Fmt.NextLevel(pte, lvl);
            }
        }
        return unmapped;
    }

    /// <summary>
    /// Whether an unmap of last-level pages may start at a cached last-level table: the levels it skips must not
    /// have anything to do. Formats that free a table when it empties need the path to the parent; formats that
    /// free a table a covering unmap spans only do so when the rest of the unmap is at least one table's span.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool CanResumeAtLastLevel(ulong remaining) => TFormat.TableFree switch
    {
        TableFreePolicy.WhenEmpty => false,
        TableFreePolicy.CoveringUnmap => _lastSpanShift >= 64 || remaining < 1UL << _lastSpanShift,
        _ => true,
    };

    void FreeIfEmpty(Span<ulong> path, int lvl, ulong iova)
    {
        ulong table = path[lvl];
        ulong index = (iova >> Fmt.Shift(lvl)) & ((1UL << Fmt.IndexBits(lvl)) - 1);
        if (!TableIsEmpty(table, lvl, index + 1)) return;
        WritePte(EntryAddr(path[lvl - 1], lvl - 1, iova), 0);
        FreeTable(table, lvl);
        ulong span = 1UL << Fmt.Shift(lvl - 1);
        _tlb?.TlbFlushWalk(iova & ~(span - 1), span, 1UL << Fmt.Shift(lvl));
    }

    // ---- lookups -----------------------------------------------------------------------------------------

    public ulong IovaToPhys(ulong iova)
    {
        if (_freed || iova > _iovaMax) return 0;
        ulong table = _root.Value;
        int lvl = 0;
        // A cached last-level table means every level above it holds a table entry on this path.
        if (TryCachedLastTable(iova, out ulong cached)) { table = cached; lvl = _lastLevel; }
        while (lvl < Fmt.Levels)
        {
            ulong pte = ReadPte(EntryAddr(table, lvl, iova));
            PteKind kind = Fmt.Classify(pte, lvl);
            if (kind == PteKind.Leaf)
            {
                ulong size = TFormat.IncrementingLeaves ? 1UL << Fmt.Shift(lvl) : Fmt.LeafSize(pte, lvl);
                return Fmt.LeafAddress(pte, lvl) + (iova & (size - 1));
            }
            if (kind != PteKind.Table) return 0;
            table = Fmt.TableAddress(pte, lvl);
            lvl = Fmt.NextLevel(pte, lvl);
        }
        return 0;
    }

    /// <summary>
    /// The hardware walker: reads one descriptor per level from simulated memory, honours level skipping where
    /// the format encodes it, and faults on invalid, reserved or unreadable descriptors.
    /// </summary>
    public WalkResult Walk(ulong iova)
    {
        if (iova > _iovaMax) return new WalkResult(false, 0, 0, IommuProt.None, 0, WalkFault.AddressSize);
        ulong table = _root.Value;
        int lvl = 0, reads = 0;
        while (lvl < Fmt.Levels)
        {
            reads++;
            if (!TryReadPte(EntryAddr(table, lvl, iova), out ulong pte))
                return new WalkResult(false, 0, 0, IommuProt.None, reads, WalkFault.External);
            switch (Fmt.Classify(pte, lvl))
            {
                case PteKind.Leaf:
                    ulong size = TFormat.IncrementingLeaves ? 1UL << Fmt.Shift(lvl) : Fmt.LeafSize(pte, lvl);
                    return new WalkResult(true, Fmt.LeafAddress(pte, lvl) + (iova & (size - 1)), size, Fmt.LeafProt(pte, lvl), reads, WalkFault.None);
                case PteKind.Table:
                    int next = Fmt.NextLevel(pte, lvl);
                    if (next <= lvl || next >= Fmt.Levels)
                        return new WalkResult(false, 0, 0, IommuProt.None, reads, WalkFault.External);
                    // Skipped levels translate as if their index were zero; other addresses fault.
                    for (int s = lvl + 1; s < next; s++)
                        if (((iova >> Fmt.Shift(s)) & ((1UL << Fmt.IndexBits(s)) - 1)) != 0) return WalkResult.Translation(reads);
                    table = Fmt.TableAddress(pte, lvl);
                    lvl = next;
                    break;
                case PteKind.Malformed:
                    return new WalkResult(false, 0, 0, IommuProt.None, reads, WalkFault.External);
                default:
                    return WalkResult.Translation(reads);
            }
        }
        return new WalkResult(false, 0, 0, IommuProt.None, reads, WalkFault.External);
    }

    /// <summary>Linux: free_io_pgtable_ops(). Gives every table page back; the object is dead afterwards.</summary>
    public void Free()
    {
        if (_freed) return;
        FreeSubtree(_root.Value, 0);
        _freed = true;
    }
}
