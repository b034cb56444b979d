namespace DmaLab.Platform;

/// <summary>One dma-ranges entry translated to the root: bus addresses [BusAddr, BusAddr+Size) reach CPU physical [CpuAddr, ...).</summary>
public sealed class DmaRangeSpec
{
    public ulong BusAddr { get; set; }
    public ulong CpuAddr { get; set; }
    public ulong Size { get; set; }
}
