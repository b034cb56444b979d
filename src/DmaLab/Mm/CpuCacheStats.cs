namespace DmaLab.Mm;

/// <summary>Counters of a <see cref="CpuCache"/>: CPU traffic, maintenance by operation (lines touched), write-backs
/// and evictions, and the incoherence events it detected.</summary>
public sealed class CpuCacheStats
{
    public long Hits { get; internal set; }
    public long Misses { get; internal set; }
    /// <summary>Lines written back to memory (clean, clean+invalidate, eviction of a dirty line).</summary>
    public long WriteBacks { get; internal set; }
    public long Evictions { get; internal set; }
    /// <summary>Lines visited by DC CVAC (clean) operations.</summary>
    public long CleanLines { get; internal set; }
    /// <summary>Lines visited by DC IVAC (invalidate) operations.</summary>
    public long InvalidateLines { get; internal set; }
    /// <summary>Lines visited by DC CIVAC (clean+invalidate) operations.</summary>
    public long CleanInvalidateLines { get; internal set; }
    /// <summary>Dirty lines thrown away by an invalidate (their CPU data is lost, as on hardware).</summary>
    public long DirtyLinesDiscarded { get; internal set; }
    public long StaleDeviceReads { get; internal set; }
    public long StaleCpuReads { get; internal set; }
    public long DeviceWritesUnderDirtyLines { get; internal set; }
}
