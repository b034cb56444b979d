using DmaLab.Iommu.Hardware;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// What a driver declares about its hardware: page sizes, address widths, how many translation contexts
/// (context banks, ASIDs, domain IDs) it has, and its default IOTLB geometry — with where each number comes from.
/// </summary>
public sealed record DriverLimits(ulong PgsizeBitmap, int Ias, int Oas, int MaxContexts, IotlbGeometry Iotlb, string Source);
