namespace DmaLab.Platform.Dtb;

/// <summary>One resolved dma-ranges window: bus (DMA) addresses [BusAddr, BusAddr+Size) reach CPU physical CpuAddr.
/// Linux: struct bus_dma_region (include/linux/dma-direct.h).</summary>
public readonly record struct DmaRange(ulong BusAddr, ulong CpuAddr, ulong Size);
