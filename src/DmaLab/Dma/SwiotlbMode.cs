namespace DmaLab.Dma;

/// <summary>The swiotlb= command-line policy (Linux: kernel/dma/swiotlb.c, setup_io_tlb_npages).</summary>
public enum SwiotlbMode
{
    /// <summary>No keyword: a pool exists when some device's addressing needs it, and only such mappings bounce.</summary>
    Auto,
    /// <summary>swiotlb=force: every dma-direct streaming mapping bounces (io_tlb_default_mem.force_bounce).</summary>
    Force,
    /// <summary>swiotlb=noforce: no pool at all (swiotlb_force_disable), so a mapping the device cannot reach fails.</summary>
    NoForce,
}

/// <summary>Parsing of <see cref="Platform.SwiotlbSpec.Mode"/>.</summary>
public static class SwiotlbModes
{
    public static SwiotlbMode Parse(string? mode) => (mode ?? "auto").Trim().ToLowerInvariant() switch
    {
        "" or "auto" => SwiotlbMode.Auto,
        "force" => SwiotlbMode.Force,
        "noforce" => SwiotlbMode.NoForce,
        _ => throw new ArgumentException($"swiotlb mode '{mode}' is not one of auto, force, noforce"),
    };
}
