namespace DmaLab.Platform;

/// <summary>A DRAM range (device tree: /memory reg).</summary>
public sealed class MemorySpec
{
    public ulong Base { get; set; }
    public ulong Size { get; set; }
}
