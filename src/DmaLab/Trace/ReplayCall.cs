using DmaLab.Dma;

namespace DmaLab.Trace;

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
    public TraceDmaDirection Dir { get; init; }
    public TraceDmaAttrs Attrs { get; init; }
    public DmaAddr ModelDmaAddr { get; init; }
    public DmaAddr TraceDmaAddr { get; init; }
    /// <summary>dma_map_sg: nents of the full list (the trace lists at most 128 entries).</summary>
    public int FullNents { get; init; }
    /// <summary>Gfp flags text of alloc calls ("GFP_KERNEL").</summary>
    public string Gfp { get; init; }
}
