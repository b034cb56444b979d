namespace DmaLab.Platform.Dtb;

/// <summary>
/// What `dmalab platform import --json` prints for one tree (DESIGN.md contract). Lists come in tree order.
/// The CLI serialises it (Report/DtbReportJson).
/// </summary>
public sealed class DtbImportReport
{
    public string Model { get; init; } = "";
    public List<string> Compatible { get; init; } = new();
    public List<IommuReport> Iommus { get; init; } = new();
    public List<MasterReport> Masters { get; init; } = new();
    public List<ReservedMemoryReport> ReservedMemory { get; init; } = new();
    public List<string> Notes { get; init; } = new();
}

/// <summary>An IOMMU provider node.</summary>
public sealed record IommuReport(string Path, string Name, string Compatible, string Driver, int Cells, bool Enabled);

/// <summary>One `iommus` entry (or mmu-masters / iommu-map target) of a master: the provider path and its IDs.</summary>
public sealed record MasterIommuRef(string Iommu, List<uint> Ids);

/// <summary>One iommu-map entry of a PCI host bridge: requester IDs [RidBase, RidBase+Length) → IDs from IommuBase.</summary>
public sealed record IommuMapReport(uint RidBase, string? Iommu, uint IommuBase, uint Length);

/// <summary>A DMA master: a node with iommus, iommu-map, a legacy mmu-masters reference or a DMA pool.</summary>
public sealed record MasterReport(string Path, string Name, string? Iommu, List<uint> Ids, List<MasterIommuRef> IommuRefs,
    bool Coherent, List<DmaRange> DmaRanges, int Mask, ulong BusDmaLimit, bool Enabled, List<IommuMapReport> IommuMap,
    uint? IommuMapMask, string? MemoryRegion);

/// <summary>A reserved-memory region (or /memreserve/ entry).</summary>
public sealed record ReservedMemoryReport(string Path, ulong? Base, ulong Size, ulong Alignment, string Compatible,
    bool Reusable, bool NoMap, bool CmaDefault, List<string> Devices);
