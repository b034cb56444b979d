using DmaLab.Platform;

namespace DmaLab.Devices;

/// <summary>
/// A DMA master as the kernel sees it (Linux: struct device with its dma_mask, coherent_dma_mask, dma_range_map,
/// dma_coherent, dma_ops and iommu fwspec). Other layers attach their per-device state here.
/// </summary>
public sealed class Device
{
    public Device(DeviceSpec spec)
    {
        Spec = spec;
        Name = spec.Name;
        DmaMask = MaskOf(spec.DmaMask);
        CoherentDmaMask = MaskOf(spec.CoherentMask == 0 ? spec.DmaMask : spec.CoherentMask);
        Coherent = spec.Coherent;
        IsPci = string.Equals(spec.Bus, "pci", StringComparison.OrdinalIgnoreCase);
        MinAlignMask = spec.MinAlignMask;
        MaxSegmentSize = spec.MaxSegmentSize;
        SegmentBoundaryMask = spec.SegmentBoundary;
    }

    public DeviceSpec Spec { get; }
    /// <summary>dev_name(): the PCI BDF or platform device name, as trace events print it.</summary>
    public string Name { get; }
    public bool IsPci { get; }
    public ulong DmaMask { get; set; }
    public ulong CoherentDmaMask { get; set; }
    /// <summary>Linux: dev->bus_dma_limit (set by dma-ranges); 0 = none.</summary>
    public ulong BusDmaLimit { get; set; }
    public bool Coherent { get; set; }
    public ulong MinAlignMask { get; set; }
    public ulong MaxSegmentSize { get; set; }
    public ulong SegmentBoundaryMask { get; set; }
    public bool Untrusted => Spec.Untrusted;
    /// <summary>Linux: dev->dma_io_tlb_mem: the default swiotlb pool, a restricted-dma-pool, or null when there is none.</summary>
    public Dma.SwiotlbPool? DmaIoTlbMem { get; set; }
    /// <summary>Linux: dev->dma_ops (get_dma_ops()): dma-direct, or iommu-dma for a device in a DMA domain; null until set up.</summary>
    public Dma.IDmaMapOps? DmaOps { get; set; }
    /// <summary>The DMA layer's per-device state (dma_range_map, cma_area, dma_mem, dma_skip_sync).</summary>
    public Dma.DmaDeviceState DmaState { get; } = new();

    /// <summary>DMA_BIT_MASK(n).</summary>
    public static ulong MaskOf(int bits) => bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;
    public override string ToString() => Name;
}
