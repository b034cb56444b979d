namespace DmaLab.Replay;

/// <summary>What the trace says about one device's DMA path, with the evidence.</summary>
public sealed class InferredDevice
{
    public string Name { get; init; } = "";
    /// <summary>"pci" for a domain:bus:dev.fn name, "platform" for a DT "address.name", else "unknown".</summary>
    public string Bus { get; init; } = "";
    /// <summary>"dma-direct", "dma-direct+offset", "swiotlb", "iommu-dma" or "unknown".</summary>
    public string DmaOps { get; init; } = "";
    /// <summary>DMA mask width when the trace shows the mask (swiotlb_bounced prints it), else null.</summary>
    public int? MaskBits { get; init; }
    /// <summary>Smallest mask width that covers every dma address the device used.</summary>
    public int MinMaskBits { get; init; }
    public int? IommuGroup { get; init; }
    public long? DmaOffset { get; init; }
    public List<string> Reasons { get; init; } = new();
}

/// <summary>An iommu:map with no dma:* event of the same task and CPU covering its IOVA.</summary>
public sealed record UnpairedIommuMap(long Line, ulong Iova, ulong Paddr, ulong Size);

/// <summary>
/// The platform inferred from the events alone: which dma_map_ops each device used (Linux:
/// kernel/dma/mapping.c chooses dma-direct, swiotlb through dma-direct, or iommu-dma per device), whether an IOMMU
/// and swiotlb are present, which IOMMU family, and how domains are laid out — each with its reasons.
/// </summary>
public sealed class InferredPlatform
{
    /// <summary>"dma-direct", "swiotlb", "iommu-dma", "mixed" or "unknown".</summary>
    public string DmaOps { get; init; } = "unknown";
    public bool Iommu { get; init; }
    /// <summary>The family the replay used (DESIGN.md, platform.iommuKind): "none", "intel-vtd", "amd-vi", "arm-smmu",
    /// "arm-smmu-v3", "virtio-iommu", or where the evidence cannot tell, "x86-unknown" or "unknown". The kernel log
    /// (--dmesg) overrides what the trace shows.</summary>
    public string IommuKind { get; set; } = "none";
    /// <summary><see cref="IommuKind"/> in words ("x86 IOMMU (VT-d, AMD-Vi or virtio-iommu)").</summary>
    public string IommuDescription { get; set; } = "no IOMMU";
    /// <summary>"per-device", "per-group", "shared" or "unknown".</summary>
    public string DomainLayout { get; init; } = "unknown";
    public bool Swiotlb { get; init; }
    public bool SwiotlbForced { get; init; }
    /// <summary>Lowest and highest bounce-slot address seen (dma_addr of bounced mappings), when any.</summary>
    public ulong? SwiotlbSlotsLow { get; init; }
    public ulong? SwiotlbSlotsHigh { get; init; }
    public List<InferredDevice> Devices { get; init; } = new();
    public List<UnpairedIommuMap> UnpairedIommuMaps { get; init; } = new();
    public long UnpairedIommuMapCount { get; init; }
    public List<string> Reasons { get; init; } = new();
}
