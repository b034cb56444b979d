using DmaLab.Platform;

namespace DmaLab.Mm;

/// <summary>
/// A platform's memory after boot, built in the kernel's order (arm64: arm64_memblock_init() →
/// early_init_fdt_scan_reserved_mem(); bootmem_init() → zone_sizes_init() → dma_contiguous_reserve();
/// mem_init() → memblock_free_all(); core_initcall cma_init_reserved_areas()):
/// DRAM from <see cref="PlatformSpec.Memory"/>; static reserved regions reserved (no-map ones marked no-map),
/// dynamic ones placed top-down within their alloc-ranges; reusable shared-dma-pool regions become CMA areas
/// (kernel/dma/contiguous.c, rmem_cma_setup()), one of them the default when it says linux,cma-default, otherwise
/// the default area of <see cref="CmaSpec.DefaultSize"/> is declared below the DMA limit (arm64_dma_phys_limit on
/// arm64, end of memory on x86_64) as dma_contiguous_reserve() does; zones from <see cref="ZoneLayout"/>; every free
/// page handed to the buddy allocator; CMA pageblocks last.
/// No-map regions stay addressable in <see cref="Memory"/> (devices can still reach the DRAM); only the kernel's
/// linear map and the allocator lose them.
/// </summary>
public sealed class MemorySystem
{
    /// <summary>CMA_MIN_ALIGNMENT_BYTES = PAGE_SIZE &lt;&lt; pageblock_order (include/linux/cma.h).</summary>
    public const ulong CmaMinAlignment = PhysAddr.PageSize << BuddyAllocator.PageblockOrder;
    const ulong FourGiB = 1UL << 32;

    readonly Memblock _memblock;
    readonly List<ReservedRegion> _reserved = new();
    readonly List<CmaArea> _cma = new();
    readonly List<string> _notes = new();

    public MemorySystem(PlatformSpec spec)
    {
        Spec = spec;
        if (spec.Memory.Count == 0) throw new ArgumentException($"platform '{spec.Name}': no memory ranges");
        var dram = spec.Memory.Select(m => new MemRange(new PhysAddr(m.Base), m.Size)).ToList();
        Memory = new PhysicalMemory(dram);
        _memblock = new Memblock(dram);

        if (spec.Arch == "x86_64")
        {
            // x86 always keeps the first 1 MiB out of the allocator (arch/x86/kernel/setup.c, setup_arch():
            // memblock_reserve(0, SZ_1M) since 5.13, for the real-mode trampoline and BIOS quirks).
            _memblock.Reserve(new MemRange(default, 1UL << 20));
        }
        var cmaCandidates = new List<(ReservedRegion Region, bool Default)>();
        // Static regions first (fdt_scan_reserved_mem()), then dynamic ones in node order (__reserved_mem_alloc_size()).
        foreach (var r in spec.ReservedMemory.Where(r => r.Base is not null)) PlaceStatic(r, cmaCandidates);
        foreach (var r in spec.ReservedMemory.Where(r => r.Base is null)) PlaceDynamic(r, cmaCandidates);

        Layout = ZoneLayout.For(spec, _memblock.StartOfDram, _memblock.EndOfDram);

        // PageAllocator exists before the CMA areas are activated; the areas reference it.
        var zones = new List<MemZone>();
        foreach (ZoneType t in Enum.GetValues<ZoneType>())
        {
            var s = Layout.Start(t, _memblock.StartOfDram);
            var e = Layout.End(t);
            if (e < s) e = s;
            zones.Add(new MemZone(t, s.Pfn, new PhysAddr((e.Value + PhysAddr.PageSize - 1) & ~(PhysAddr.PageSize - 1)).Pfn));
        }
        PageAllocator = new PageAllocator(Memory, zones, Layout);

        var declared = new List<(string Name, MemRange Range, int OrderPerBit, ReservedRegion? Region)>();
        foreach (var (region, isDefault) in cmaCandidates)
        {
            declared.Add((region.Name, region.Range, 0, region));
            if (isDefault && DefaultCmaName is null) DefaultCmaName = region.Name;
        }
        if (DefaultCmaName is null && spec.Cma.DefaultSize > 0)
        {
            // dma_contiguous_reserve(limit) → cma_declare_contiguous_nid(0, size, limit, 0, order_per_bit, false, "reserved").
            ulong limit = spec.Arch == "arm64" ? Layout.DmaPhysLimit.Value : _memblock.EndOfDram.Value;
            if (spec.Cma.Limit != 0) limit = Math.Min(limit, spec.Cma.Limit);
            var range = DeclareContiguous(spec.Cma.DefaultSize, limit, spec.Cma.OrderPerBit);
            if (range is { } r) { declared.Add(("reserved", r, spec.Cma.OrderPerBit, null)); DefaultCmaName = "reserved"; }
            else _notes.Add($"cma: Failed to reserve {spec.Cma.DefaultSize >> 20} MiB below 0x{limit:x}");
        }

        // memblock_free_all(): every page neither reserved nor no-map goes to its zone.
        foreach (var f in _memblock.FreeRanges()) AddToZones(f, cma: false);
        // cma_init_reserved_areas(): activate each area, its pages become MIGRATE_CMA pageblocks.
        foreach (var (name, range, opb, region) in declared)
        {
            var zone = PageAllocator.FindZone(range.Base);
            if (zone is null || !zone.Buddy.Contains((range.End - 1).Pfn))
            {
                _notes.Add($"cma: CMA area {name} could not be activated (crosses a zone boundary)");
                AddToZones(range, cma: false);
                continue;
            }
            var area = new CmaArea(name, range.Base.Pfn, range.Size >> PhysAddr.PageShift, opb, PageAllocator);
            zone.Buddy.AddMemory(range.Base.Pfn, range.End.Pfn, cma: true);
            _cma.Add(area);
            if (region is not null) region.Cma = area;
        }
    }

    public PlatformSpec Spec { get; }
    /// <summary>The DRAM bytes (no-map regions included: they are memory the devices can reach).</summary>
    public PhysicalMemory Memory { get; }
    public PageAllocator PageAllocator { get; }
    public ZoneLayout Layout { get; }
    public IReadOnlyList<MemZone> Zones => PageAllocator.Zones;
    public MemZone Zone(ZoneType t) => PageAllocator.Zone(t);
    public Memblock Memblock => _memblock;
    public IReadOnlyList<CmaArea> CmaAreas => _cma;
    /// <summary>Name of dma_contiguous_default_area, or null when there is none.</summary>
    public string? DefaultCmaName { get; }
    public CmaArea? DefaultCma => DefaultCmaName is null ? null : CmaArea(DefaultCmaName);
    public CmaArea? CmaArea(string name) => _cma.FirstOrDefault(c => c.Name == name);
    public IReadOnlyList<ReservedRegion> ReservedRegions => _reserved;
    public ReservedRegion? ReservedRegion(string name) => _reserved.FirstOrDefault(r => r.Name == name);
    /// <summary>Boot messages about regions the kernel would refuse or could not place.</summary>
    public IReadOnlyList<string> Notes => _notes;
    /// <summary>arm64_dma_phys_limit (x86_64: 4 GiB): where swiotlb decides whether it is needed and the CMA default lives.</summary>
    public PhysAddr DmaPhysLimit => Layout.DmaPhysLimit;
    /// <summary>memblock_is_map_memory(): the CPU's linear map covers the address (not no-map).</summary>
    public bool IsMapMemory(PhysAddr a) => _memblock.IsMapMemory(a);

    /// <summary>
    /// A memblock-style boot allocation (memblock_alloc_range_nid(), top-down) of size bytes, aligned, ending at or
    /// below <paramref name="limit"/> (0 = anywhere), taken out of the page allocator. This is how swiotlb places
    /// its pool (swiotlb_memblock_alloc() → memblock_alloc_low()). For the kernel's exact placement call it before
    /// anything else allocates. Returns null when no free range fits.
    /// </summary>
    public PhysAddr? ReserveBootMemory(ulong size, ulong align, ulong limit, string name = "boot")
    {
        size = (size + PhysAddr.PageSize - 1) & ~(PhysAddr.PageSize - 1);
        align = Math.Max(align, PhysAddr.PageSize);
        for (int attempt = 0; attempt < 64; attempt++)
        {
            var b = _memblock.Alloc(size, align, 0, limit);
            if (b is null) return null;
            var range = new MemRange(b.Value, size);
            if (ClaimFromZones(range))
            {
                _reserved.Add(new ReservedRegion(name, range, "", false, false, []));
                return b;
            }
            // Pages there are already in use by the buddy allocator: leave them reserved in memblock and look lower.
        }
        return null;
    }

    bool ClaimFromZones(MemRange range)
    {
        var claimed = new List<(Pfn S, Pfn E)>();
        foreach (var z in Zones)
        {
            ulong s = Math.Max(range.Base.Pfn.Value, z.StartPfn.Value), e = Math.Min(range.End.Pfn.Value, z.EndPfn.Value);
            if (s >= e) continue;
            if (!PageAllocator.TryClaimFreeRange(new Pfn(s), new Pfn(e)))
            {
                foreach (var (cs, ce) in claimed) PageAllocator.FreeContigRange(cs, ce);
                return false;
            }
            claimed.Add((new Pfn(s), new Pfn(e)));
        }
        return true;
    }

    void AddToZones(MemRange r, bool cma)
    {
        ulong s = (r.Base.Value + PhysAddr.PageSize - 1) >> PhysAddr.PageShift, e = r.End.Value >> PhysAddr.PageShift;
        foreach (var z in Zones)
        {
            ulong zs = Math.Max(s, z.StartPfn.Value), ze = Math.Min(e, z.EndPfn.Value);
            if (zs < ze) z.Buddy.AddMemory(new Pfn(zs), new Pfn(ze), cma);
        }
    }

    /// <summary>cma_declare_contiguous_nid() placement for a non-fixed area: aligned to CMA_MIN_ALIGNMENT_BYTES, first
    /// bottom-up from 4 GiB when memory reaches past 4 GiB + size, else top-down below the limit.</summary>
    MemRange? DeclareContiguous(ulong size, ulong limit, int orderPerBit)
    {
        ulong align = CmaMinAlignment;
        size = (size + align - 1) & ~(align - 1);
        limit &= ~(align - 1);
        if (((size >> PhysAddr.PageShift) & ((1UL << orderPerBit) - 1)) != 0) return null;
        if (limit == 0 || limit > _memblock.EndOfDram.Value) limit = _memblock.EndOfDram.Value;
        PhysAddr? b = null;
        if (_memblock.EndOfDram.Value >= FourGiB + size) b = _memblock.Alloc(size, align, FourGiB, limit, bottomUp: true);
        b ??= _memblock.Alloc(size, align, 0, limit);
        return b is null ? null : new MemRange(b.Value, size);
    }

    void PlaceStatic(ReservedMemorySpec r, List<(ReservedRegion, bool)> cma)
    {
        var range = new MemRange(new PhysAddr(r.Base!.Value), r.Size);
        if (!_memblock.IsMemory(range))
            _notes.Add($"reserved-memory {r.Name}: {range} is not (entirely) DRAM");
        if (r.NoMap) _memblock.MarkNoMap(range); else _memblock.Reserve(range);
        AddRegion(r, range, cma);
    }

    void PlaceDynamic(ReservedMemorySpec r, List<(ReservedRegion, bool)> cma)
    {
        ulong align = r.Alignment;
        bool cmaNode = r.Compatible == "shared-dma-pool" && r.Reusable && !r.NoMap;
        if (cmaNode) align = Math.Max(align, CmaMinAlignment);
        PhysAddr? b = null;
        foreach (var ar in r.AllocRanges)
        {
            b = _memblock.Alloc(r.Size, align, ar.Base, ar.Base + ar.Size);
            if (b is not null) break;
        }
        if (b is null && r.AllocRanges.Count == 0) b = _memblock.Alloc(r.Size, align, 0, 0);
        if (b is null) { _notes.Add($"reserved-memory {r.Name}: failed to allocate memory for node ({r.Size} bytes)"); return; }
        var range = new MemRange(b.Value, r.Size);
        if (r.NoMap)
        {
            // The dynamic allocation reserved it; no-map nodes are then removed from the linear map instead.
            _memblock.MarkNoMap(range);
        }
        AddRegion(r, range, cma);
    }

    void AddRegion(ReservedMemorySpec r, MemRange range, List<(ReservedRegion, bool)> cma)
    {
        var region = new ReservedRegion(r.Name, range, r.Compatible, r.NoMap, r.Reusable, r.Devices.ToArray());
        _reserved.Add(region);
        if (r.Compatible != "shared-dma-pool" || !r.Reusable) return;
        // rmem_cma_setup(): reusable and not no-map, aligned to CMA_MIN_ALIGNMENT_BYTES.
        if (r.NoMap) { _notes.Add($"reserved-memory {r.Name}: a CMA region cannot be no-map"); return; }
        if (((range.Base.Value | range.Size) & (CmaMinAlignment - 1)) != 0)
        {
            _notes.Add($"Reserved memory: incorrect alignment of CMA region {r.Name}");
            return;
        }
        cma.Add((region, r.CmaDefault));
    }
}
