using DmaLab.Platform;

namespace DmaLab.Mm;

/// <summary>
/// Where each zone ends (max_zone_pfns[] handed to free_area_init()). A zone spans from the previous zone's end
/// to its own end, so a zone whose limit is not above the previous one is empty.
/// <list type="bullet">
/// <item>x86_64 (Linux: arch/x86/mm/init.c, zone_sizes_init()): DMA below MAX_DMA_PFN (16 MiB), DMA32 below
/// MAX_DMA32_PFN (4 GiB), NORMAL up to max_pfn; each clamped to the end of DRAM.</item>
/// <item>arm64 (Linux: arch/arm64/mm/init.c, zone_sizes_init() / max_zone_phys(), 6.13+): zone_dma_limit is the
/// lowest CPU address every DMA master can reach according to the device tree's dma-ranges
/// (of_dma_get_max_cpu_address()), capped to 4 GiB when DRAM starts below 4 GiB; ZONE_DMA ends at
/// min(zone_dma_limit, end of DRAM - 1) + 1 (arm64_dma_phys_limit), ZONE_DMA32 at min(4 GiB - 1, end - 1) + 1.
/// With no restrictive dma-ranges ZONE_DMA therefore covers all 32-bit memory and ZONE_DMA32 is empty; when DRAM
/// starts above 4 GiB ZONE_DMA covers all of it.</item>
/// <item>s390x (Linux: arch/s390/mm/init.c, paging_init()): ZONE_DMA below MAX_DMA_ADDRESS (2 GiB, the 31-bit
/// heritage, arch/s390/include/asm/dma.h), ZONE_NORMAL above; no CONFIG_ZONE_DMA32 (arch/s390/Kconfig).</item>
/// <item>arm (32-bit): one ZONE_NORMAL (no ZONE_DMA unless a machine sets arm_dma_zone_size; HIGHMEM not modelled).</item>
/// </list>
/// </summary>
public sealed record ZoneLayout(string Arch, PhysAddr DmaEnd, PhysAddr Dma32End, PhysAddr NormalEnd, PhysAddr DmaPhysLimit)
{
    const ulong X86MaxDma = 16UL << 20;
    const ulong FourGiB = 1UL << 32;
    const ulong S390MaxDma = 1UL << 31;

    /// <summary>End (exclusive) of the given zone's range.</summary>
    public PhysAddr End(ZoneType z) => z switch { ZoneType.Dma => DmaEnd, ZoneType.Dma32 => Dma32End, _ => NormalEnd };

    /// <summary>Start of the given zone's range: the end of the zone below (zones are contiguous in pfn order).</summary>
    public PhysAddr Start(ZoneType z, PhysAddr dramStart) => z switch
    {
        ZoneType.Dma => dramStart,
        ZoneType.Dma32 => Max(dramStart, DmaEnd),
        _ => Max(dramStart, Max(DmaEnd, Dma32End)),
    };

    static PhysAddr Max(PhysAddr a, PhysAddr b) => a > b ? a : b;

    /// <summary>
    /// Whether the architecture's kernel is built with the zone (CONFIG_ZONE_DMA / CONFIG_ZONE_DMA32). A zone that
    /// is configured but empty makes GFP_DMA/GFP_DMA32 requests fail; one that is not configured makes gfp_zone()
    /// map the flag to ZONE_NORMAL (Linux: include/linux/gfp.h, OPT_ZONE_DMA / OPT_ZONE_DMA32). 32-bit arm has
    /// no ZONE_DMA32 (arch/arm/Kconfig) and, as modelled here, no ZONE_DMA.
    /// </summary>
    public bool Configured(ZoneType z) => z == ZoneType.Normal || (Arch != "arm" && !(Arch == "s390x" && z == ZoneType.Dma32));

    /// <summary>Computes the layout for a platform whose DRAM spans [dramStart, dramEnd).</summary>
    public static ZoneLayout For(PlatformSpec spec, PhysAddr dramStart, PhysAddr dramEnd)
    {
        ulong end = dramEnd.Value;
        switch (spec.Arch)
        {
            case "x86_64":
            {
                ulong dma = Math.Min(X86MaxDma, end), dma32 = Math.Min(FourGiB, end);
                // x86 has no arm64_dma_phys_limit; the 4 GiB limit is what swiotlb and dma-direct test against.
                return new ZoneLayout(spec.Arch, new(dma), new(dma32), new(end), new(dma32));
            }
            case "arm64":
            {
                ulong zoneDmaLimit = DtMaxDmaCpuAddress(spec);              // inclusive, PHYS_ADDR_MAX when unconstrained
                if (dramStart.Value < uint.MaxValue) zoneDmaLimit = Math.Min(zoneDmaLimit, uint.MaxValue);
                ulong dma = Math.Min(zoneDmaLimit, end - 1) + 1;
                ulong dma32 = Math.Min((ulong)uint.MaxValue, end - 1) + 1;
                return new ZoneLayout(spec.Arch, new(dma), new(dma32), new(end), new(dma));
            }
            case "arm":
                return new ZoneLayout(spec.Arch, dramStart, dramStart, new(end), new(end));
            case "s390x":
            {
                // swiotlb (protected-virtualization guests) and memblock_alloc_low() stay below
                // ARCH_LOW_ADDRESS_LIMIT (2 GiB - 1) too, so that is the DMA physical limit.
                ulong dma = Math.Min(S390MaxDma, end);
                return new ZoneLayout(spec.Arch, new(dma), new(dma), new(end), new(dma));
            }
            default:
                throw new ArgumentException($"platform '{spec.Name}': unknown arch '{spec.Arch}' (expected arm64, arm, x86_64 or s390x)");
        }
    }

    /// <summary>
    /// Linux: drivers/of/address.c, of_dma_get_max_cpu_address(NULL): for every available node with dma-ranges the
    /// highest CPU address its ranges reach; the minimum over all nodes; PHYS_ADDR_MAX when none constrains DMA.
    /// Our devices carry their dma-ranges already translated to the root, one list per device. Device DMA masks do
    /// not enter: drivers set them at probe, after the zones are fixed.
    /// </summary>
    public static ulong DtMaxDmaCpuAddress(PlatformSpec spec)
    {
        ulong max = ulong.MaxValue;
        foreach (var d in spec.Devices)
        {
            if (!d.Enabled || d.DmaRanges.Count == 0) continue;
            ulong cpuEnd = 0;
            foreach (var r in d.DmaRanges)
                if (r.Size != 0 && r.CpuAddr + r.Size > cpuEnd) cpuEnd = r.CpuAddr + r.Size - 1;
            if (cpuEnd < max) max = cpuEnd;
        }
        return max;
    }
}
