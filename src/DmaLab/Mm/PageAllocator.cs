using System.Runtime.CompilerServices;

namespace DmaLab.Mm;

/// <summary>
/// The zoned page allocator of node 0 (Linux: mm/page_alloc.c, __alloc_pages() → get_page_from_freelist() over
/// the zonelist; __free_pages()). gfp_zone() picks the highest usable zone and the zonelist walks down from it
/// (NORMAL → DMA32 → DMA), skipping empty zones, so a DMA32 request never lands in NORMAL. Movable requests may take
/// free pages of CMA pageblocks (ALLOC_CMA). A failed allocation leaves a warn_alloc() record unless __GFP_NOWARN.
/// Movable allocations are owned through <see cref="MovableHandle"/>s so CMA can migrate them.
/// </summary>
public sealed partial class PageAllocator : IPageAllocator
{
    readonly PhysicalMemory _mem;
    readonly MemZone[] _zones;                 // indexed by ZoneType; empty zones span nothing
    readonly BuddyAllocator[] _buddy = new BuddyAllocator[3];
    readonly ulong[] _zoneStart = new ulong[3], _zoneSpan = new ulong[3];   // flat copies for the free path's zone lookup
    readonly List<AllocationFailure> _warnings = new();
    readonly bool _hasZoneDma = true, _hasZoneDma32 = true;
    long _inUse;

    public PageAllocator(PhysicalMemory memory, IReadOnlyList<MemZone> zones)
    {
        _mem = memory;
        _zones = new MemZone[3];
        foreach (var z in zones) _zones[(int)z.Type] = z;
        for (int i = 0; i < 3; i++)
            if (_zones[i] is null) throw new ArgumentException($"zone {(ZoneType)i} missing (an empty zone must still be given)");
        for (int i = 1; i < 3; i++)
            if (_zones[i].StartPfn < _zones[i - 1].EndPfn && _zones[i].Buddy.SpanPages > 0 && _zones[i - 1].Buddy.SpanPages > 0)
                throw new ArgumentException($"zones {_zones[i - 1]} and {_zones[i]} overlap");
        for (int i = 0; i < 3; i++)
        {
            _buddy[i] = _zones[i].Buddy;
            _zoneStart[i] = _buddy[i].StartPfn.Value;
            _zoneSpan[i] = _buddy[i].SpanPages;
        }
        InitHandles();
    }

    /// <summary>
    /// A page allocator whose kernel lacks some zones: GFP_DMA / GFP_DMA32 then select ZONE_NORMAL, as gfp_zone()
    /// does when CONFIG_ZONE_DMA / CONFIG_ZONE_DMA32 is off (Linux: include/linux/gfp.h, OPT_ZONE_DMA32).
    /// </summary>
    public PageAllocator(PhysicalMemory memory, IReadOnlyList<MemZone> zones, ZoneLayout layout) : this(memory, zones)
    {
        _hasZoneDma = layout.Configured(ZoneType.Dma);
        _hasZoneDma32 = layout.Configured(ZoneType.Dma32);
    }

    /// <summary>gfp_zone() for this kernel's configuration: the highest zone the zonelist walk starts from.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ZoneType GfpZone(Gfp gfp)
    {
        var z = GfpZones.HighestZone(gfp);
        if ((z == ZoneType.Dma && !_hasZoneDma) || (z == ZoneType.Dma32 && !_hasZoneDma32)) return ZoneType.Normal;
        return z;
    }

    public PhysicalMemory Memory => _mem;
    /// <summary>DMA, DMA32, Normal (in zone-index order; empty zones included).</summary>
    public IReadOnlyList<MemZone> Zones => _zones;
    public MemZone Zone(ZoneType type) => _zones[(int)type];
    public long PagesInUse => _inUse;
    /// <summary>Free pages over all zones (NR_FREE_PAGES summed).</summary>
    public long FreePageCount => _zones[0].Buddy.FreePages + _zones[1].Buddy.FreePages + _zones[2].Buddy.FreePages;
    public long ManagedPages => _zones[0].Buddy.ManagedPages + _zones[1].Buddy.ManagedPages + _zones[2].Buddy.ManagedPages;
    /// <summary>Allocation-failure warnings, oldest first.</summary>
    public IReadOnlyList<AllocationFailure> Warnings => _warnings;

    /// <summary>/proc/buddyinfo: one line per populated zone.</summary>
    public string BuddyInfo()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var z in _zones) if (z.IsPopulated) sb.Append(z.BuddyInfoLine()).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// alloc_pages(gfp, order). With __GFP_ZERO the pages read as zero. A raw allocation with __GFP_MOVABLE may land
    /// in a CMA pageblock, but the caller holds its address, so it can never be migrated: cma_alloc() over it gets
    /// -EBUSY. Use <see cref="TryAllocMovable"/> for pages that may move.
    /// </summary>
    public bool TryAllocPages(int order, Gfp gfp, out PhysAddr page)
    {
        if (TryAllocPfn(order, gfp, out Pfn pfn))
        {
            page = pfn.Address;
            // Zeroed in place: a page freed and allocated again keeps its host memory (no allocation per cycle).
            if ((gfp & Gfp.Zero) != 0) _mem.Fill(page, PhysAddr.PageSize << order, 0);
            return true;
        }
        page = default;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool TryAllocPfn(int order, Gfp gfp, out Pfn pfn)
    {
        if ((uint)order > BuddyAllocator.MaxPageOrder)
        {
            // __alloc_pages(): WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER) and NULL; negative orders are our caller's bug.
            if (order < 0) throw new ArgumentOutOfRangeException(nameof(order), order, "order must be 0..10");
            pfn = default;
            return false;
        }
        bool cma = GfpZones.MayUseCma(gfp);
        for (int z = (int)GfpZone(gfp); z >= 0; z--)
        {
            var buddy = _buddy[z];
            if (buddy.FreePages >= 1L << order && buddy.TryAlloc(order, cma, out pfn))
            {
                _inUse += 1L << order;
                return true;
            }
        }
        Warn(order, gfp);
        pfn = default;
        return false;
    }

    void Warn(int order, Gfp gfp)
    {
        var high = GfpZone(gfp);
        // warn_alloc(): silent with __GFP_NOWARN, and for GFP_DMA when ZONE_DMA has no managed pages (has_managed_dma()).
        if ((gfp & Gfp.NoWarn) != 0) return;
        if ((gfp & Gfp.Dma) != 0 && _hasZoneDma && !_zones[(int)ZoneType.Dma].IsPopulated) return;
        _warnings.Add(new AllocationFailure(order, gfp, high,
            $"page allocation failure: order:{order}, mode:{GfpZones.FormatMode(gfp)}, nodemask=(null)"));
    }

    public void FreePages(PhysAddr page, int order)
    {
        if (page.PageOffset != 0) throw new ArgumentException($"free of unaligned address {page}");
        BuddyOf(page.Pfn).Free(page.Pfn, order, PageFlags.Allocated);
        _inUse -= 1L << order;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal MemZone ZoneOf(Pfn pfn)
    {
        var zones = _zones;
        for (int i = zones.Length - 1; i >= 0; i--)
            if (zones[i].Buddy.Contains(pfn)) return zones[i];
        return ThrowNoZone(pfn);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    BuddyAllocator BuddyOf(Pfn pfn)
    {
        ulong v = pfn.Value;
        for (int i = 2; i >= 0; i--)
            if (v - _zoneStart[i] < _zoneSpan[i]) return _buddy[i];
        return ThrowNoZone(pfn).Buddy;
    }

    /// <summary>The zone an address belongs to, or null for addresses outside every zone.</summary>
    public MemZone? FindZone(PhysAddr addr)
    {
        foreach (var z in _zones) if (z.Buddy.Contains(addr.Pfn)) return z;
        return null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static MemZone ThrowNoZone(Pfn pfn) => throw new InvalidOperationException($"0x{pfn.Address.Value:x} is in no zone");

    /// <summary>Checks every zone's buddy invariants and the handle table (see <see cref="BuddyAllocator.Validate"/>).</summary>
    public void Validate()
    {
        long managed = 0, free = 0;
        foreach (var z in _zones)
        {
            z.Buddy.Validate();
            managed += z.Buddy.ManagedPages;
            free += z.Buddy.FreePages;
        }
        if (managed - free != _inUse) throw new InvalidOperationException($"page allocator: {managed - free} pages not free but {_inUse} accounted in use");
        ValidateHandles();
    }
}
