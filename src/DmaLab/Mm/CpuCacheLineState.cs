namespace DmaLab.Mm;

/// <summary>State of one line in <see cref="CpuCache"/> (the MOESI detail of real caches reduced to what DMA
/// maintenance cares about: is the line present, and does it hold bytes memory does not have).</summary>
public enum CpuCacheLineState : byte
{
    /// <summary>Not in the cache: CPU accesses go to memory.</summary>
    Invalid = 0,
    /// <summary>Present and equal to memory at fill time (memory may have changed since: see stale tracking).</summary>
    Clean = 1,
    /// <summary>Present and written by the CPU; memory is older until the line is cleaned or evicted.</summary>
    Dirty = 2,
}
