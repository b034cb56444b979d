using DmaLab.Iommu.PageTables;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Sim;

namespace DmaLab.Iommu.Drivers;

/// <summary>Allocates an io-pgtable; <see cref="IoPgtableRegistry.Alloc"/> unless a test or tool supplies another.</summary>
public delegate IIoPgtable IoPgtableFactory(IoPgtableFormat format, IoPgtableConfig config, PhysicalMemory memory, IPageAllocator pages);

/// <summary>What every driver instance is built with: the core, memory, page allocator, time, costs and platform reserved memory.</summary>
public sealed class IommuDriverContext
{
    public required IommuCore Core { get; init; }
    public required PhysicalMemory Memory { get; init; }
    public required IPageAllocator Pages { get; init; }
    public required SimClock Clock { get; init; }
    public required CostModel Costs { get; init; }
    public IoPgtableFactory PgtableFactory { get; init; } = IoPgtableRegistry.Alloc;
    public IReadOnlyList<ReservedMemorySpec> ReservedMemory { get; init; } = Array.Empty<ReservedMemorySpec>();
    /// <summary>Seed for the components' own random streams (IOTLB random replacement).</summary>
    public ulong Seed { get; init; }
}
