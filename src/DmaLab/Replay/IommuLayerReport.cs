namespace DmaLab.Replay;

/// <summary>One DMA domain as an IOMMU-layer replay rebuilt it (see <see cref="IommuLayerReplay"/>).</summary>
public sealed class IommuLayerDomainReport
{
    public int Id { get; init; }
    /// <summary>The device(s) attach_device_to_domain / add_device_to_group named for it, when the trace has them.</summary>
    public List<string> Devices { get; init; } = new();
    public long FirstLine { get; init; }
    /// <summary>iommu:map events attributed to it (an sg list's segments count one each).</summary>
    public long MapEvents { get; init; }
    /// <summary>IOVA allocations (a run of contiguous map events of one call is one).</summary>
    public long Allocations { get; init; }
    public long Unmaps { get; init; }
    public ulong BytesMapped { get; init; }
    public long Compared { get; init; }
    public long Matched { get; init; }
    public long LiveMappingsAtEnd { get; init; }
    public ulong LiveBytesAtEnd { get; init; }
    /// <summary>Lowest and highest live IOVA at the end ("0x…"), when any is live.</summary>
    public string? LiveIovaLow { get; init; }
    public string? LiveIovaHigh { get; init; }
    public ulong PeakLiveBytes { get; init; }
}

/// <summary>What an IOMMU-layer replay of a trace without dma:* events (kernels before 6.12) found.</summary>
public sealed class IommuLayerReport
{
    /// <summary>The kernel rules the IOVA allocator followed (rcache depot) and where the kernel version came from.</summary>
    public string Rules { get; init; } = "";
    public string Policy { get; init; } = "";
    public List<IommuLayerDomainReport> Domains { get; init; } = new();
    public long MapEvents { get; init; }
    public long UnmapEvents { get; init; }
    /// <summary>iommu:unmap events whose IOVA no domain had mapped.</summary>
    public long UnmatchedUnmaps { get; init; }
    /// <summary>IOTLB invalidations the replayed domains issued (strict: one per unmap; lazy: one per flush-queue flush).</summary>
    public long Invalidations { get; init; }
    /// <summary>Mappings still live at the end, all domains (leaks, or buffers the trace ended inside).</summary>
    public long LiveMappingsAtEnd { get; init; }
    /// <summary>What iommu:* events cannot tell.</summary>
    public List<string> Unknowable { get; init; } = new();
}
