namespace DmaLab.Platform;

/// <summary>An IOMMU instance.</summary>
public sealed class IommuSpec
{
    public string Name { get; set; } = "";
    /// <summary>Driver model: ArmSmmu, ArmSmmuV3, IntelVtd, AmdIommu, Omap, Msm, Exynos, Tegra, Rockchip, Sun50i, Ipmmu, S390Iommu, VirtioIommu, Unknown.</summary>
    public string Model { get; set; } = "";
    public string Compatible { get; set; } = "";
    /// <summary>Device-tree path of the provider node, when imported.</summary>
    public string? Path { get; set; }
    /// <summary>Overrides the driver's pgsize_bitmap (e.g. 0x40201000 for 4K/2M/1G); 0 = driver default.</summary>
    public ulong PgsizeBitmap { get; set; }
    /// <summary>Input/output address sizes in bits; 0 = driver default.</summary>
    public int Ias { get; set; }
    public int Oas { get; set; }
    /// <summary>IOTLB geometry; 0 = driver default.</summary>
    public int IotlbEntries { get; set; }
    public int IotlbWays { get; set; }
    /// <summary>ARM SMMU v1/v2 context banks; 0 = driver default.</summary>
    public int ContextBanks { get; set; }
    /// <summary>Whether the table walker is cache coherent.</summary>
    public bool CoherentWalk { get; set; } = true;
    /// <summary>#iommu-cells of the provider, when imported.</summary>
    public int Cells { get; set; } = 1;
    public bool Enabled { get; set; } = true;
    /// <summary>AMD-Vi: the capability header's NpCache bit (IOMMU_CAP_NPCACHE, bit 26): the IOMMU caches non-present
    /// entries, as an emulated one in a VM does. The driver then runs every DMA domain strict and flushes after each
    /// map (drivers/iommu/amd/init.c, amd_iommu_np_cache).</summary>
    public bool NpCache { get; set; }
    /// <summary>virtio-iommu: the device offers VIRTIO_IOMMU_F_BYPASS_CONFIG, so identity domains are bypass attaches.</summary>
    public bool VirtioBypass { get; set; }
    /// <summary>virtio-iommu: PROBE reports the x86 MSI window 0xfee00000-0xfeefffff as a RESV_MEM MSI region (QEMU on
    /// x86 machines); without it the driver uses a software-mapped MSI window (MSI_IOVA_BASE), as on ARM.</summary>
    public bool VirtioProbeMsi { get; set; }
}
