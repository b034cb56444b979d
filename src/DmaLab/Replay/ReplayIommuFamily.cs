namespace DmaLab.Replay;

/// <summary>
/// The IOVA geometry of one IOMMU family as iommu-dma sees it (Linux: iommu_dma_init_domain() reads the domain's
/// pgsize_bitmap and aperture; iommu_dma_get_resv_regions() + the driver's get_resv_regions() give the reserved
/// ranges). Only what decides the IOVA a mapping gets is modelled here.
/// </summary>
public sealed record ReplayIommuFamily(string Name, ulong PgsizeBitmap, int ApertureBits, IReadOnlyList<(ulong Start, ulong Length, bool HwMsi)> Reserved)
{
    const ulong Sz4K2M1G = 0x1000 | 0x20_0000 | 0x4000_0000;

    /// <summary>Intel VT-d: 4K/2M/1G second-level pages, 48-bit (4-level) address width by default; the IOAPIC/MSI
    /// range 0xfee00000-0xfeefffff is an IOMMU_RESV_MSI region (drivers/iommu/intel/iommu.c,
    /// intel_iommu_get_resv_regions()).</summary>
    public static readonly ReplayIommuFamily IntelVtd = new("intel-vtd", Sz4K2M1G, 48, [(0xfee0_0000UL, 0x10_0000UL, true)]);

    /// <summary>AMD-Vi v1 page table: every power-of-two size from 4 KiB; MSI range as on VT-d plus the HyperTransport
    /// range 0xfd_0000_0000-0xff_ffff_ffff reserved (drivers/iommu/amd/iommu.c, amd_iommu_get_resv_regions()).</summary>
    public static readonly ReplayIommuFamily AmdVi = new("amd-vi", ~0xFFFUL, 48,
        [(0xfee0_0000UL, 0x10_0000UL, true), (0xfd_0000_0000UL, 0x3_0000_0000UL, false)]);

    /// <summary>ARM SMMUv3 stage 1, 4 KiB granule (4K/2M/1G), 48-bit input addresses; MSIs go through a doorbell page
    /// mapped by iommu-dma (IOMMU_RESV_SW_MSI is not reserved in DMA domains).</summary>
    public static readonly ReplayIommuFamily ArmSmmuV3 = new("arm-smmu-v3", Sz4K2M1G, 48, []);

    /// <summary>ARM SMMU v1/v2 (MMU-500 ...), LPAE 4 KiB granule; MSI doorbells as on SMMUv3.</summary>
    public static readonly ReplayIommuFamily ArmSmmu = new("arm-smmu", Sz4K2M1G, 48, []);

    /// <summary>virtio-iommu as QEMU's virtio-iommu-pci presents it to an x86 guest (drivers/iommu/virtio-iommu.c):
    /// page_size_mask 0xfffffffffffff000 and a 64-bit input range from the config space, and the PROBE request's
    /// reserved MSI region 0xfee00000-0xfeefffff (VIRTIO_IOMMU_RESV_MEM_T_MSI becomes IOMMU_RESV_MSI).</summary>
    public static readonly ReplayIommuFamily VirtioIommu = new("virtio-iommu", ~0xFFFUL, 64, [(0xfee0_0000UL, 0x10_0000UL, true)]);

    /// <summary>The family for a name as the replay report prints it or a platform's iommu model names it.</summary>
    public static ReplayIommuFamily? FromName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        string n = name.Trim().ToLowerInvariant();
        if (n.Contains("virtio")) return VirtioIommu;
        if (n.Contains("vtd") || n.Contains("vt-d") || n.Contains("intel") || n.Contains("dmar")) return IntelVtd;
        if (n.Contains("amd")) return AmdVi;
        if (n.Contains("smmuv3") || n.Contains("smmu-v3") || n.Contains("smmu_v3")) return ArmSmmuV3;
        if (n.Contains("smmu") || n.Contains("mmu-500") || n.Contains("mmu-401")) return ArmSmmu;
        return null;
    }

    public static IReadOnlyList<string> Names => ["intel-vtd", "amd-vi", "arm-smmu-v3", "arm-smmu", "virtio-iommu"];
}
