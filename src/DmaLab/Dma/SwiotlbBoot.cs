using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Dma;

/// <summary>The slot and area counts the kernel settles on before it allocates the default pool.</summary>
/// <param name="Slots">default_nslabs after the swiotlb= size and the area round-up</param>
/// <param name="Areas">limit_nareas(default_nareas, nslabs)</param>
/// <param name="Messages">dmesg lines the kernel prints on the way ("software IO TLB: area num 1." ...)</param>
public sealed record SwiotlbGeometry(ulong Slots, int Areas, IReadOnlyList<string> Messages)
{
    public ulong Bytes => Slots << Swiotlb.IoTlbShift;
}

/// <summary>
/// Creating swiotlb pools the way the kernel does at boot and at device probe (Linux: kernel/dma/swiotlb.c,
/// setup_io_tlb_npages / swiotlb_init_remap for the default pool, rmem_swiotlb_setup /
/// rmem_swiotlb_device_init for restricted-dma-pool regions). Where the memory comes from is the caller's
/// (memblock_alloc_low below the platform's low limit, or a CMA range for seed 004); this class only takes the
/// range and checks it.
/// </summary>
public static class SwiotlbBoot
{
    const string Prefix = "software IO TLB: ";

    /// <summary>
    /// default_nslabs and the area count: the size (swiotlb=&lt;slabs&gt; is aligned to a segment; the default is
    /// 64 MiB), swiotlb_adjust_nareas(spec.Areas or num_possible_cpus()) with its power-of-two round-up of the
    /// slots, then limit_nareas().
    /// </summary>
    public static SwiotlbGeometry Geometry(SwiotlbSpec spec, int possibleCpus)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Size == 0 || spec.Size % Swiotlb.IoTlbSize != 0)
            throw new ArgumentException($"swiotlb size {spec.Size} is not a positive multiple of {Swiotlb.IoTlbSize} bytes");
        if (possibleCpus <= 0) throw new ArgumentException($"possible CPUs {possibleCpus}; expected at least 1");
        var msgs = new List<string>();
        ulong nslabs = Swiotlb.AlignToSegment(spec.Size >> Swiotlb.IoTlbShift);
        int nareas = Swiotlb.AdjustAreas(spec.Areas > 0 ? spec.Areas : possibleCpus);
        msgs.Add($"{Prefix}area num {nareas}.");
        nslabs = Swiotlb.RoundUpDefaultNslabs(nslabs, nareas, out bool rounded);
        if (rounded) msgs.Add($"{Prefix}SWIOTLB bounce buffer size roundup to {(nslabs << Swiotlb.IoTlbShift) >> 20}MB");
        return new SwiotlbGeometry(nslabs, Swiotlb.LimitAreas(nareas, nslabs), msgs);
    }

    /// <summary>
    /// swiotlb_init_late(): a pool set up after boot from the page allocator is a power-of-two number of pages,
    /// get_order(ALIGN(size / 2 KiB, 128) * 2 KiB) (the kernel halves the order while allocation fails, which is
    /// the caller's to model), with limit_nareas() applied to the adjusted area count.
    /// </summary>
    public static SwiotlbGeometry LateGeometry(ulong size, int possibleCpus, int areas = 0)
    {
        if (possibleCpus <= 0) throw new ArgumentException($"possible CPUs {possibleCpus}; expected at least 1");
        ulong bytes = Swiotlb.AlignToSegment(size >> Swiotlb.IoTlbShift) << Swiotlb.IoTlbShift;
        int order = 0;
        while ((Swiotlb.PageSize << order) < bytes) order++;
        ulong nslabs = (Swiotlb.PageSize / Swiotlb.IoTlbSize) << order;
        int nareas = Swiotlb.AdjustAreas(areas > 0 ? areas : possibleCpus);
        return new SwiotlbGeometry(nslabs, Swiotlb.LimitAreas(nareas, nslabs), [$"{Prefix}area num {nareas}."]);
    }

    /// <summary>
    /// swiotlb_init(): the default pool at <paramref name="base"/>, or null when there is none: swiotlb=noforce,
    /// or no device needs one (<paramref name="addressingLimited"/> false, e.g. x86 with all RAM below 4 GiB)
    /// and bouncing is not forced. With <see cref="SwiotlbSpec.FromCma"/> the range is expected to come from CMA
    /// (<see cref="SwiotlbPoolKind.Cma"/>, seed 004).
    /// </summary>
    public static SwiotlbPool? CreateDefault(PhysicalMemory memory, SwiotlbSpec spec, PhysAddr @base, int possibleCpus,
        bool addressingLimited, out IReadOnlyList<string> messages)
    {
        var mode = SwiotlbModes.Parse(spec.Mode);
        if (mode == SwiotlbMode.NoForce || (!addressingLimited && mode != SwiotlbMode.Force))
        {
            messages = [];
            return null;
        }
        var g = Geometry(spec, possibleCpus);
        var range = new MemRange(@base, g.Bytes);
        var pool = new SwiotlbPool(memory, range, g.Areas, spec.FromCma ? SwiotlbPoolKind.Cma : SwiotlbPoolKind.Default,
            forceBounce: mode == SwiotlbMode.Force, name: "swiotlb");
        var msgs = new List<string>(g.Messages) { MappedMessage(pool) };
        messages = msgs;
        return pool;
    }

    /// <summary>
    /// The default pool laid over a range the caller allocated from a CMA area (seed 004). The range must be
    /// whole segments; its size decides the slot count, the spec decides areas and force.
    /// </summary>
    public static SwiotlbPool CreateFromCma(PhysicalMemory memory, MemRange cmaRange, SwiotlbSpec spec, int possibleCpus)
    {
        ulong nslabs = cmaRange.Size >> Swiotlb.IoTlbShift;
        int nareas = Swiotlb.LimitAreas(Swiotlb.AdjustAreas(spec.Areas > 0 ? spec.Areas : possibleCpus), nslabs);
        if (nareas == 0)
            throw new ArgumentException($"CMA range {cmaRange} for swiotlb is smaller than one {Swiotlb.IoTlbSegSize}-slot segment");
        return new SwiotlbPool(memory, cmaRange, nareas, SwiotlbPoolKind.Cma,
            forceBounce: SwiotlbModes.Parse(spec.Mode) == SwiotlbMode.Force, name: "swiotlb");
    }

    /// <summary>
    /// A restricted-dma-pool reserved region (rmem_swiotlb_setup: not reusable, not linux,cma-default, not
    /// no-map; rmem_swiotlb_device_init: one area, size/2 KiB slots, force bounce and used for allocations).
    /// Every device whose memory-region names it shares the one pool, as the kernel shares rmem->priv.
    /// </summary>
    public static SwiotlbPool CreateRestricted(PhysicalMemory memory, ReservedMemorySpec rmem)
    {
        ArgumentNullException.ThrowIfNull(rmem);
        if (!string.Equals(rmem.Compatible, "restricted-dma-pool", StringComparison.Ordinal))
            throw new ArgumentException($"reserved-memory '{rmem.Name}': compatible '{rmem.Compatible}' is not restricted-dma-pool");
        if (rmem.Reusable || rmem.CmaDefault || rmem.NoMap)
            throw new ArgumentException($"reserved-memory '{rmem.Name}': a restricted-dma-pool must not be reusable, linux,cma-default or no-map (rmem_swiotlb_setup returns -EINVAL)");
        if (rmem.Base is not ulong b)
            throw new ArgumentException($"reserved-memory '{rmem.Name}': restricted-dma-pool has no placed base yet");
        return new SwiotlbPool(memory, new MemRange(new PhysAddr(b), rmem.Size), 1, SwiotlbPoolKind.Restricted, true, rmem.Name);
    }

    /// <summary>The "Reserved memory: created restricted DMA pool at %pa, size %ld MiB" line of rmem_swiotlb_setup.</summary>
    public static string RestrictedMessage(ReservedMemorySpec rmem) =>
        $"Reserved memory: created restricted DMA pool at 0x{rmem.Base ?? 0:x16}, size {rmem.Size >> 20} MiB";

    /// <summary>swiotlb_print_info(): "software IO TLB: mapped [mem %pa-%pa] (%luMB)" (end is exclusive, as printed).</summary>
    public static string MappedMessage(SwiotlbPool pool) =>
        $"{Prefix}mapped [mem 0x{pool.Start.Value:x16}-0x{pool.End.Value:x16}] ({(pool.TotalSlots << Swiotlb.IoTlbShift) >> 20}MB)";

    /// <summary>
    /// swiotlb_dev_init() plus rmem device_init: points each device at its pool. Devices naming a
    /// restricted-dma-pool in <c>MemoryRegion</c> get that pool; the others get the default pool (or none).
    /// </summary>
    public static void AttachDevices(IEnumerable<Devices.Device> devices, SwiotlbPool? defaultPool,
        IReadOnlyDictionary<string, SwiotlbPool> restrictedByRegion)
    {
        foreach (var dev in devices)
        {
            var region = dev.Spec.MemoryRegion;
            dev.DmaIoTlbMem = region is not null && restrictedByRegion.TryGetValue(region, out var rp) ? rp : defaultPool;
        }
    }
}
