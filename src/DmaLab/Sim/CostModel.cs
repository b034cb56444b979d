namespace DmaLab.Sim;

/// <summary>
/// Virtual-time costs of the operations the model performs, per platform. Defaults are order-of-magnitude
/// figures for a current server/SoC; each says where it comes from. A platform YAML may override any of them.
/// </summary>
public sealed record CostModel
{
    /// <summary>One DRAM access by a table walker (~80–100 ns loaded latency on DDR4/DDR5 servers).</summary>
    public ulong DramAccessNs { get; init; } = 90;
    /// <summary>IOTLB hit: translation is in the pipeline of the IOMMU (a few cycles at ~1 GHz).</summary>
    public ulong IotlbHitNs { get; init; } = 2;
    /// <summary>Walk-cache hit replaces one DRAM access per level it covers.</summary>
    public ulong WalkCacheHitNs { get; init; } = 5;
    /// <summary>Synchronous IOTLB invalidation + sync round trip (SMMU CMD_SYNC / VT-d wait descriptor ~ 1 µs, see
    /// dma_map_benchmark unmap ≈ 1.3 µs in strict mode).</summary>
    public ulong IotlbInvalidateSyncNs { get; init; } = 1000;
    /// <summary>Queueing one invalidation command without waiting.</summary>
    public ulong InvalidateCommandNs { get; init; } = 50;
    /// <summary>CPU memcpy bandwidth for bounce copies, bytes per ns (~10 GB/s single core).</summary>
    public double CopyBytesPerNs { get; init; } = 10.0;
    /// <summary>Cache maintenance per 64-byte line (DC CVAC/CIVAC ~ a few ns per line).</summary>
    public ulong CacheMaintenancePerLineNs { get; init; } = 4;
    /// <summary>CPU cost of writing one page-table entry (store + barrier amortised).</summary>
    public ulong PteWriteNs { get; init; } = 3;
    /// <summary>Device DMA bandwidth for its own transfers, bytes per ns (PCIe Gen4 x4 ≈ 7.8 GB/s).</summary>
    public double DeviceBytesPerNs { get; init; } = 7.8;
    /// <summary>IOVA allocation on an rcache hit / a tree walk (kernel figures: ~50 ns / ~300 ns).</summary>
    public ulong IovaRcacheNs { get; init; } = 50;
    public ulong IovaTreeNs { get; init; } = 300;
    /// <summary>Attach/detach of a device to a domain (context/STE update + invalidation).</summary>
    public ulong DomainAttachNs { get; init; } = 5000;

    public ulong CopyNs(ulong bytes) => (ulong)Math.Ceiling(bytes / CopyBytesPerNs);
    public ulong DeviceTransferNs(ulong bytes) => (ulong)Math.Ceiling(bytes / DeviceBytesPerNs);
}
