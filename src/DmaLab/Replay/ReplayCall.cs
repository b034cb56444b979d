using DmaLab.Dma;
using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>
/// One DMA-API call rebuilt from a trace line, as the driver made it, handed to an <see cref="IReplayModel"/>.
/// For map/alloc calls <see cref="ModelDmaAddr"/> is unset; for unmap/free/sync it is the address the model returned
/// when the matched mapping was made (what a driver would pass back), and <see cref="TraceDmaAddr"/> the kernel's.
/// A model must choose addresses from its own state only: <see cref="TraceDmaAddr"/> is for diagnostics.
/// </summary>
public readonly struct ReplayCall
{
    public TraceEventKind Kind { get; init; }
    public int DeviceId { get; init; }
    public string Device { get; init; }
    public int Cpu { get; init; }
    public int Pid { get; init; }
    public ulong TimestampNs { get; init; }
    public long Line { get; init; }
    /// <summary>Physical address mapped (map_phys/page/resource), or 0 when the call has none.</summary>
    public ulong Phys { get; init; }
    public ulong Size { get; init; }
    public DmaDirection Dir { get; init; }
    public DmaAttrs Attrs { get; init; }
    public DmaAddr ModelDmaAddr { get; init; }
    public DmaAddr TraceDmaAddr { get; init; }
    /// <summary>dma_map_sg: nents of the full list (the trace lists at most 128 entries).</summary>
    public int FullNents { get; init; }
    /// <summary>Gfp flags text of alloc calls ("GFP_KERNEL").</summary>
    public string Gfp { get; init; }
    /// <summary>Interrupt level the call was made at (0 task, 1 softirq, 2 hardirq; see <see cref="TraceRecord.IrqLevel"/>).</summary>
    public int IrqLevel { get; init; }
    /// <summary>iommu:map events traced by this call's task/CPU/level just before it (the call went through an
    /// IOMMU domain: evidence for the device's dma_map_ops, not an address to copy).</summary>
    public int IommuMaps { get; init; }
    /// <summary>A swiotlb:swiotlb_bounced of this buffer preceded the call (it went through swiotlb).</summary>
    public bool Bounced { get; init; }
    /// <summary>The device's dma_mask as swiotlb_bounced printed it (0 when unknown).</summary>
    public ulong TraceDmaMask { get; init; }
    /// <summary>The device is in an IOMMU group / attached to a domain according to earlier events.</summary>
    public bool InIommuGroup { get; init; }
}
