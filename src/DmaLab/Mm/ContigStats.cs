namespace DmaLab.Mm;

/// <summary>What alloc_contig_range() attempts ran into; CMA accumulates it per area.</summary>
public struct ContigStats
{
    /// <summary>Pages moved out of the requested ranges.</summary>
    public long PagesMigrated;
    /// <summary>Movable blocks that could not be migrated (pinned, or no target memory).</summary>
    public long MigrationFailures;
    /// <summary>Pages found pinned in a requested range.</summary>
    public long PinnedPages;
    /// <summary>Pages found allocated without a movable owner in a requested range.</summary>
    public long UnmovablePages;
}
