namespace DmaLab.Mm;

/// <summary>Counters of one CMA area (the kernel's /sys/kernel/mm/cma/&lt;name&gt;/alloc_pages_success|fail and
/// the cma_alloc_busy_retry tracepoint, plus what migration did).</summary>
public readonly record struct CmaStatsSnapshot(
    long Allocations, long Failures, long PagesAllocated, long BusyRetries,
    long PagesMigrated, long MigrationFailures, long PinnedPagesHit, long Releases);
