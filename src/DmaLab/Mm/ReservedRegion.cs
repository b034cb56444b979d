namespace DmaLab.Mm;

/// <summary>
/// A /reserved-memory region after boot placement (Linux: include/linux/of_reserved_mem.h, struct reserved_mem).
/// <see cref="Cma"/> is set when the region became a CMA area (reusable shared-dma-pool, rmem_cma_setup()).
/// </summary>
public sealed record ReservedRegion(string Name, MemRange Range, string Compatible, bool NoMap, bool Reusable,
    IReadOnlyList<string> Devices)
{
    public CmaArea? Cma { get; internal set; }
    public PhysAddr Base => Range.Base;
    public ulong Size => Range.Size;
}
