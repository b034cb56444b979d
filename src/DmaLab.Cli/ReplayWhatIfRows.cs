using System.Globalization;
using DmaLab.Trace;
using DmaLab.Replay;

namespace DmaLab.Cli;

/// <summary>
/// The rows of the what-if comparison, shared by the terminal table and the HTML report. The as-traced column's
/// IOTLB figures are estimates (no device side was run); the what-if column is measured on a booted machine, so
/// measured-only rows show "—" where a column was not measured.
/// </summary>
public static class ReplayWhatIfRows
{
    static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    static string N(ulong v) => v.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A row: its label and how each column's value is written.</summary>
    public static IReadOnlyList<(string Name, Func<ReplayModelStats, string> Value)> Rows { get; } =
    [
        ("policy / IOMMU", s => $"{s.Policy} / {s.Iommu}"),
        ("maps / unmaps", s => $"{N(s.Maps)} / {N(s.Unmaps)}"),
        ("IOTLB lookups / misses", s => s.Measured ? $"{N(s.IotlbLookups)} / {N(s.IotlbMisses)}" : $"— / {N(s.IotlbMisses)} (est.)"),
        ("page walks", s => s.Measured ? N(s.PageWalks) : "—"),
        ("invalidations / commands", s => s.Measured ? $"{N(s.Invalidations)} / {N(s.InvalidationCommands)}" : $"{N(s.Invalidations)} / —"),
        ("flush-queue flushes", s => N(s.FlushQueueFlushes)),
        ("IOVA allocations / rcache hit rate", s => $"{N(s.IovaAllocs)} / {(s.IovaRcacheHitRate * 100).ToString("0.0", CultureInfo.InvariantCulture)} %"),
        ("device accesses (faults)", s => s.Measured ? $"{N(s.DeviceAccesses)} ({N(s.DeviceAccessFaults)})" : "—"),
        ("stale hits", s => s.Measured ? $"{N(s.StaleHits)} ({N(s.StaleHitBytes)} B, max {N(s.StaleHitWindowMaxNs)} ns)" : "—"),
        ("bounced bytes", s => N(s.BounceBytes)),
        ("bounced mapping bytes", s => s.Measured ? N(s.BouncedMappingBytes) : "—"),
        ("findings", s => s.FindingKinds.Count == 0 ? "none" : string.Join(", ", s.FindingKinds.Select(k => $"{k.Key} {k.Value}"))),
        ("estimated time (virtual)", s => $"{(s.EstimatedNs / 1e3).ToString("N1", CultureInfo.InvariantCulture)} µs"),
    ];

    /// <summary>"1.23x", or "n/a" when the what-if charged no time.</summary>
    public static string Speedup(double speedup) => speedup == 0 ? "n/a" : speedup.ToString("0.00", CultureInfo.InvariantCulture) + "x";
}
