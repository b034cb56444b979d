namespace DmaLab.Analysis;

/// <summary>How bad a <see cref="Finding"/> kind is, for summaries: an error is wrong data or a broken isolation or
/// API contract (the kernel would WARN, fault or corrupt), a warning is a resource problem or a mismatch worth a
/// look (leaks, failed allocations, size/direction mismatches), info is expected pressure behaviour.</summary>
public enum FindingSeverity : byte { Error, Warning, Info }

/// <summary>The severity of each finding kind (stable: kinds are stable ids).</summary>
public static class FindingSeverities
{
    static readonly HashSet<string> Errors = new(StringComparer.Ordinal)
    {
        "stale-cpu-read", "stale-device-read", "isolation-breach", "iommu-fault", "io-page-fault", "migration-corrupted-data",
        "device-write-under-dirty-line", "swiotlb-buffer-overflow", "swiotlb-bounce-bus-error", "unmap-of-unmapped",
        "free-of-unallocated", "sync-of-unmapped", "iommu-dma-unmap-unmapped", "unmap-invalid-address", "dma-addr-overflow",
        "swiotlb-addr-overflow", "swiotlb-release-free-slot", "map-single-bad-area", "free-bad-address", "free-bad-cookie",
        "dma-pool-bad-free", "free-noncoherent-bad-address", "arm-iommu-free-invalid", "iommu-dma-free-unknown",
        "iommu-warn-on", "dmalab-error", "cpu-access-no-kernel-mapping",
    };

    static readonly HashSet<string> Infos = new(StringComparer.Ordinal)
    {
        "cma-busy-retry", "fragmentation-failure", "buddyinfo-not-restored",
        "live-at-end", // a mapping alive when the trace ended: informational, a leak needs evidence (replay)
    };

    public static FindingSeverity Of(string kind) =>
        Errors.Contains(kind) ? FindingSeverity.Error : Infos.Contains(kind) ? FindingSeverity.Info : FindingSeverity.Warning;

    /// <summary>"error", "warning" or "info".</summary>
    public static string Name(FindingSeverity s) => s switch
    {
        FindingSeverity.Error => "error",
        FindingSeverity.Warning => "warning",
        _ => "info",
    };
}
