namespace DmaLab.Platform;

/// <summary>A DMA master.</summary>
public sealed class DeviceSpec
{
    public string Name { get; set; } = "";
    /// <summary>"pci" or "platform".</summary>
    public string Bus { get; set; } = "platform";
    /// <summary>PCI: "0000:00:04.0"; platform: the device-tree unit name.</summary>
    public string? BusId { get; set; }
    /// <summary>Device-tree path, when imported.</summary>
    public string? Path { get; set; }
    /// <summary>Workload model of the device: gpu, gpu-2d, gpu-3d, isp, nvme, nic, emmc, usb, generic.</summary>
    public string Kind { get; set; } = "generic";
    /// <summary>Streaming DMA mask width in bits.</summary>
    public int DmaMask { get; set; } = 32;
    /// <summary>Coherent DMA mask width; 0 = same as <see cref="DmaMask"/>.</summary>
    public int CoherentMask { get; set; }
    /// <summary>dma-coherent: the master snoops CPU caches.</summary>
    public bool Coherent { get; set; }
    public List<DmaRangeSpec> DmaRanges { get; set; } = new();
    /// <summary>Name of the IOMMU instance it masters through; null = none.</summary>
    public string? Iommu { get; set; }
    /// <summary>Stream IDs / requester IDs / context numbers, as the IOMMU binding means them.</summary>
    public List<uint> StreamIds { get; set; } = new();
    /// <summary>External-facing (Thunderbolt) PCI device: always strict DMA, bounced sub-page buffers.</summary>
    public bool Untrusted { get; set; }
    /// <summary>PCI: upstream bridge name for grouping; null = root bus.</summary>
    public string? Bridge { get; set; }
    /// <summary>PCI: the path up to the root supports ACS (isolation).</summary>
    public bool Acs { get; set; } = true;
    /// <summary>Linux: dma_set_min_align_mask (NVMe uses 4 KiB - 1).</summary>
    public ulong MinAlignMask { get; set; }
    /// <summary>Linux: dma_set_max_seg_size (default 64 KiB).</summary>
    public ulong MaxSegmentSize { get; set; } = 65536;
    /// <summary>Linux: dma_set_seg_boundary (default 4 GiB - 1).</summary>
    public ulong SegmentBoundary { get; set; } = 0xffff_ffff;
    /// <summary>Name of a restricted-dma-pool or shared-dma-pool reserved region it uses.</summary>
    public string? MemoryRegion { get; set; }
    public bool Enabled { get; set; } = true;
    public string? Compatible { get; set; }
    /// <summary>Highest bus address the interconnect can reach (Linux: dev->bus_dma_limit, set from dma-ranges); 0 = no limit.</summary>
    public ulong BusDmaLimit { get; set; }
    /// <summary>Further IOMMU instances the master sits behind (an Exynos or OMAP master with several MMUs; the
    /// driver's of_xlate collects them); <see cref="Iommu"/> is the first.</summary>
    public List<string> ExtraIommus { get; set; } = new();
    /// <summary>PCI host bridge: requester ID → IOMMU ID map (iommu-map); empty otherwise.</summary>
    public List<IommuMapSpec> IommuMap { get; set; } = new();
    /// <summary>PCI host bridge: iommu-map-mask applied to requester IDs before the map (default all bits).</summary>
    public uint IommuMapMask { get; set; } = 0xffff_ffff;
    /// <summary>s390 PCI function attributes (a device behind an S390Iommu); null = the firmware defaults.</summary>
    public ZpciSpec? Zpci { get; set; }
}
