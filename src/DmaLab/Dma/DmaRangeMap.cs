using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Dma;

/// <summary>
/// A device's dma-ranges (Linux: struct bus_dma_region, dev->dma_range_map, built by of_dma_get_range()).
/// translate_phys_to_dma / translate_dma_to_phys walk the entries in order and return DMA_MAPPING_ERROR /
/// (phys_addr_t)-1 when no entry covers the address (include/linux/dma-direct.h).
/// </summary>
public sealed class DmaRangeMap
{
    readonly Region[] _regions;

    /// <summary>One region: CPU [CpuStart, +Size) appears at bus address DmaStart.</summary>
    public readonly record struct Region(ulong CpuStart, ulong DmaStart, ulong Size);

    public DmaRangeMap(IEnumerable<Region> regions)
    {
        _regions = regions.ToArray();
        foreach (var r in _regions)
            if (r.Size == 0) throw new ArgumentException($"dma-range cpu 0x{r.CpuStart:x} dma 0x{r.DmaStart:x} has size 0");
    }

    public static DmaRangeMap? From(IReadOnlyList<DmaRangeSpec> spec) =>
        spec.Count == 0 ? null : new DmaRangeMap(spec.Select(s => new Region(s.CpuAddr, s.BusAddr, s.Size)));

    public ReadOnlySpan<Region> Regions => _regions;

    /// <summary>translate_phys_to_dma()</summary>
    public DmaAddr PhysToDma(PhysAddr phys)
    {
        foreach (ref readonly var r in _regions.AsSpan())
        {
            ulong off = phys.Value - r.CpuStart;
            if (phys.Value >= r.CpuStart && off < r.Size) return new DmaAddr(r.DmaStart + off);
        }
        return DmaAddr.MappingError;
    }

    /// <summary>translate_dma_to_phys(); ulong.MaxValue when no region covers the bus address.</summary>
    public PhysAddr DmaToPhys(DmaAddr dma)
    {
        foreach (ref readonly var r in _regions.AsSpan())
        {
            ulong off = dma.Value - r.DmaStart;
            if (dma.Value >= r.DmaStart && off < r.Size) return new PhysAddr(r.CpuStart + off);
        }
        return new PhysAddr(ulong.MaxValue);
    }

    /// <summary>The highest bus address + 1 any region reaches (of_dma_configure sets bus_dma_limit to it - 1).</summary>
    public ulong DmaEnd => _regions.Max(r => r.DmaStart + r.Size);
}
