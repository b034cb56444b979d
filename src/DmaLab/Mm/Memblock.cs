namespace DmaLab.Mm;

/// <summary>
/// The boot-time memory map (Linux: mm/memblock.c): DRAM regions, reserved regions and no-map regions, and the
/// range allocator boot code uses before the buddy allocator exists. Allocation is top-down by default
/// (memblock_find_in_range_node() → __memblock_find_range_top_down()) and never returns the first page; no-map
/// memory is never handed out.
/// </summary>
public sealed class Memblock
{
    readonly List<MemRange> _memory;
    readonly List<MemRange> _reserved = new();
    readonly List<MemRange> _noMap = new();

    public Memblock(IEnumerable<MemRange> memory)
    {
        _memory = memory.OrderBy(r => r.Base).ToList();
    }

    public IReadOnlyList<MemRange> Memory => _memory;
    public IReadOnlyList<MemRange> Reserved => _reserved;
    public IReadOnlyList<MemRange> NoMap => _noMap;
    /// <summary>memblock_start_of_DRAM().</summary>
    public PhysAddr StartOfDram => _memory.Count == 0 ? default : _memory[0].Base;
    /// <summary>memblock_end_of_DRAM().</summary>
    public PhysAddr EndOfDram => _memory.Count == 0 ? default : _memory[^1].End;

    public bool IsMemory(MemRange r) => _memory.Any(m => m.Contains(r.Base, r.Size));
    public bool IsReserved(MemRange r) => _reserved.Any(x => x.Overlaps(r));
    /// <summary>memblock_is_map_memory(): DRAM not marked no-map (the kernel's linear map covers it).</summary>
    public bool IsMapMemory(PhysAddr a) => _memory.Any(m => m.Contains(a)) && !_noMap.Any(n => n.Contains(a));

    /// <summary>memblock_reserve().</summary>
    public void Reserve(MemRange r) { if (r.Size != 0) _reserved.Add(r); }

    /// <summary>memblock_mark_nomap().</summary>
    public void MarkNoMap(MemRange r) { if (r.Size != 0) _noMap.Add(r); }

    /// <summary>Free ranges (memory minus reserved minus no-map), ascending.</summary>
    public List<MemRange> FreeRanges()
    {
        var cuts = _reserved.Concat(_noMap).OrderBy(r => r.Base).ToList();
        var free = new List<MemRange>();
        foreach (var m in _memory)
        {
            ulong s = m.Base.Value, e = m.End.Value;
            foreach (var c in cuts)
            {
                if (c.End.Value <= s || c.Base.Value >= e) continue;
                if (c.Base.Value > s) free.Add(new MemRange(new PhysAddr(s), c.Base.Value - s));
                s = Math.Max(s, c.End.Value);
            }
            if (s < e) free.Add(new MemRange(new PhysAddr(s), e - s));
        }
        return free;
    }

    /// <summary>
    /// memblock_phys_alloc_range(size, align, start, end) and, with <paramref name="bottomUp"/>, the bottom-up walk
    /// memblock_alloc_range_nid() does when memblock_set_bottom_up(true). end = 0 means anywhere. Reserves and returns
    /// the base, or null.
    /// </summary>
    public PhysAddr? Alloc(ulong size, ulong align, ulong start, ulong end, bool bottomUp = false)
    {
        if (size == 0) return null;
        if (align == 0) align = 64;                            // SMP_CACHE_BYTES
        if (end == 0 || end > EndOfDram.Value) end = EndOfDram.Value;
        start = Math.Max(start, PhysAddr.PageSize);            // never the first page
        var free = FreeRanges();
        if (bottomUp)
        {
            foreach (var f in free)
            {
                ulong s = Math.Max(f.Base.Value, start), e = Math.Min(f.End.Value, end);
                if (s >= e) continue;
                ulong cand = (s + align - 1) & ~(align - 1);
                if (cand < e && e - cand >= size) return Take(cand, size);
            }
            return null;
        }
        for (int i = free.Count - 1; i >= 0; i--)
        {
            ulong s = Math.Max(free[i].Base.Value, start), e = Math.Min(free[i].End.Value, end);
            if (s >= e || e - s < size) continue;
            ulong cand = (e - size) & ~(align - 1);
            if (cand >= s) return Take(cand, size);
        }
        return null;
    }

    PhysAddr Take(ulong b, ulong size)
    {
        Reserve(new MemRange(new PhysAddr(b), size));
        return new PhysAddr(b);
    }
}
