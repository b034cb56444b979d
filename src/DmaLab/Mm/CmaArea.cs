namespace DmaLab.Mm;

/// <summary>
/// One contiguous memory area (Linux: mm/cma.c, struct cma; cma_alloc(), cma_release()). Its pages are reserved
/// at boot and then handed to the buddy allocator as MIGRATE_CMA pageblocks, so movable allocations borrow them
/// while the area is idle. cma_alloc() searches the bitmap (one bit per 2^order_per_bit pages) for an aligned run,
/// claims it with alloc_contig_range() (migrating borrowed pages out) and, when the range is busy (a pinned page),
/// clears the bits and searches again from bitmap_no + mask + 1, until the bitmap is exhausted.
/// </summary>
public sealed class CmaArea
{
    readonly PageAllocator _pages;
    readonly CmaBitmap _bitmap;
    readonly List<string> _log = new();
    long _allocs, _fails, _pagesAllocated, _busyRetries, _releases;
    ContigStats _contig;

    internal CmaArea(string name, Pfn basePfn, ulong count, int orderPerBit, PageAllocator pages)
    {
        Name = name;
        BasePfn = basePfn;
        Count = count;
        OrderPerBit = orderPerBit;
        _pages = pages;
        _bitmap = new CmaBitmap((long)(count >> orderPerBit));   // cma_bitmap_maxno()
    }

    /// <summary>cma->name ("reserved" for the default area, the reserved-memory node name otherwise).</summary>
    public string Name { get; }
    public Pfn BasePfn { get; }
    /// <summary>Pages in the area (cma->count).</summary>
    public ulong Count { get; }
    public int OrderPerBit { get; }
    public PhysAddr Base => BasePfn.Address;
    public ulong Size => Count << PhysAddr.PageShift;
    public MemRange Range => new(Base, Size);
    /// <summary>The bitmap, for inspection (tests compare it with a reference model).</summary>
    public CmaBitmap Bitmap => _bitmap;
    /// <summary>pr_err / pr_debug lines the kernel would print (alloc failures, busy retries).</summary>
    public IReadOnlyList<string> Log => _log;

    public CmaStatsSnapshot Stats => new(_allocs, _fails, _pagesAllocated, _busyRetries,
        _contig.PagesMigrated, _contig.MigrationFailures, _contig.PinnedPages, _releases);

    /// <summary>
    /// cma_alloc(cma, count, align, no_warn): <paramref name="align"/> is an order of pages. Returns 0 with the first
    /// page, or the kernel's error (-ENOMEM when no free run is left, or the alloc_contig_range() error that stopped
    /// the search).
    /// </summary>
    public int Alloc(ulong count, int align, out PhysAddr page, bool noWarn = false)
    {
        page = default;
        if (count == 0 || Count == 0) return -Errno.EINVAL;
        long mask = align <= OrderPerBit ? 0 : (1L << (align - OrderPerBit)) - 1;                       // cma_bitmap_aligned_mask()
        long offset = (long)((BasePfn.Value & ((1UL << align) - 1)) >> OrderPerBit);                   // cma_bitmap_aligned_offset()
        long maxno = _bitmap.Bits;
        long bits = (long)(((count + (1UL << OrderPerBit) - 1) >> OrderPerBit));                      // cma_bitmap_pages_to_bits()
        if (bits > maxno) { _fails++; return -Errno.ENOMEM; }
        int ret = -Errno.ENOMEM;
        long start = 0;
        while (true)
        {
            long no = _bitmap.FindNextZeroAreaOff(maxno, start, bits, mask, offset);
            if (no >= maxno) break;
            _bitmap.Set(no, bits);
            var pfn = BasePfn + ((ulong)no << OrderPerBit);
            ret = _pages.AllocContigRange(pfn, pfn + count, ref _contig);
            if (ret == 0) { page = pfn.Address; break; }
            _bitmap.Clear(no, bits);
            if (ret != -Errno.EBUSY) break;
            _busyRetries++;
            _log.Add($"cma: cma_alloc(): {Name}: memory range at pfn 0x{pfn.Value:x} is busy, retrying");
            start = no + mask + 1;                  // try again with a bit different memory target
        }
        if (ret == 0) { _allocs++; _pagesAllocated += (long)count; return 0; }
        _fails++;
        if (!noWarn) _log.Add($"cma: cma_alloc: {Name}: alloc failed, req-size: {count} pages, ret: {ret}");
        return ret;
    }

    /// <summary>cma_release(): false when the pages are not in this area (the kernel's answer); releasing pages the
    /// area did not hand out is a DmaLab bug.</summary>
    public bool Release(PhysAddr page, ulong count)
    {
        var pfn = page.Pfn;
        if (pfn < BasePfn || pfn.Value >= BasePfn.Value + Count) return false;
        if (pfn.Value + count > BasePfn.Value + Count) throw new InvalidOperationException($"cma_release of {count} pages at {page} runs past area {Name}");
        long no = (long)((pfn.Value - BasePfn.Value) >> OrderPerBit);
        long bits = (long)((count + (1UL << OrderPerBit) - 1) >> OrderPerBit);
        for (long i = no; i < no + bits; i++)
            if (!_bitmap.Test(i)) throw new InvalidOperationException($"cma_release of {page} ({count} pages): bitmap bit {i} of area {Name} is clear");
        _pages.FreeContigRange(pfn, pfn + count);
        _bitmap.Clear(no, bits);
        _releases++;
        return true;
    }

    public override string ToString() => $"cma {Name} {Range} order_per_bit={OrderPerBit}";
}
