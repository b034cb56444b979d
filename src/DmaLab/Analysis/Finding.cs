namespace DmaLab.Analysis;

/// <summary>
/// A problem the model detected (dma-debug report, stale cache line, IOMMU fault, leak...). Findings are data,
/// never exceptions. <paramref name="Kind"/> is a stable kebab-case id (e.g. "unmap-of-unmapped", "stale-cpu-read").
/// <paramref name="Line"/> is the trace line when replaying, else 0.
/// </summary>
public sealed record Finding(string Kind, string Device, ulong Address, string Message, long Line = 0);
