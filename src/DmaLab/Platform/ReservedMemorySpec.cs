namespace DmaLab.Platform;

/// <summary>A /reserved-memory child (Documentation/devicetree/bindings/reserved-memory/).</summary>
public sealed class ReservedMemorySpec
{
    public string Name { get; set; } = "";
    /// <summary>Static placement; null with <see cref="Size"/> set means dynamic (placed at boot within <see cref="AllocRanges"/>).</summary>
    public ulong? Base { get; set; }
    public ulong Size { get; set; }
    public ulong Alignment { get; set; }
    public List<MemorySpec> AllocRanges { get; set; } = new();
    /// <summary>"shared-dma-pool", "restricted-dma-pool", or another compatible.</summary>
    public string Compatible { get; set; } = "";
    public bool NoMap { get; set; }
    /// <summary>reusable: the region is a CMA area.</summary>
    public bool Reusable { get; set; }
    /// <summary>linux,cma-default: the default CMA area.</summary>
    public bool CmaDefault { get; set; }
    /// <summary>Devices that reference this region through memory-region.</summary>
    public List<string> Devices { get; set; } = new();
}
