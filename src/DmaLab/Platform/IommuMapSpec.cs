namespace DmaLab.Platform;

/// <summary>
/// One iommu-map entry of a PCI host bridge (Documentation/devicetree/bindings/pci/pci-iommu.txt): requester IDs
/// [RidBase, RidBase+Length), after the bridge's iommu-map-mask, reach IOMMU <see cref="Iommu"/> with IDs starting
/// at <see cref="IommuBase"/>. Linux: drivers/of/base.c, of_map_id().
/// </summary>
public sealed class IommuMapSpec
{
    public uint RidBase { get; set; }
    /// <summary>Name of the IOMMU instance; null when the phandle names no imported IOMMU.</summary>
    public string? Iommu { get; set; }
    public uint IommuBase { get; set; }
    public uint Length { get; set; }
}
