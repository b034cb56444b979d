namespace DmaLab.Platform;

/// <summary>
/// What firmware reports for one s390 PCI function through CLP "query PCI function" (Linux: struct zpci_dev fields
/// filled by arch/s390/pci/pci_clp.c clp_store_query_pci_fn()). Defaults are QEMU's s390-pci-bus values.
/// </summary>
public sealed class ZpciSpec
{
    /// <summary>QEMU include/hw/s390x/s390-pci-bus.h ZPCI_SDMA_ADDR / ZPCI_EDMA_ADDR.</summary>
    public const ulong QemuStartDma = 0x1_0000_0000, QemuEndDma = 0x1ff_ffff_ffff_ffff;

    /// <summary>Function ID (zdev->fid); names the IOMMU "s390-iommu.%08x". 0 = derived from the device's position.</summary>
    public uint Fid { get; set; }
    /// <summary>Function handle (zdev->fh), the RPCIT/MPCIFC operand; 0 = derived from the fid.</summary>
    public uint Fh { get; set; }
    /// <summary>First DMA address the function may use (zdev->start_dma, "sdma").</summary>
    public ulong StartDma { get; set; } = QemuStartDma;
    /// <summary>Last DMA address (zdev->end_dma, "edma").</summary>
    public ulong EndDma { get; set; } = QemuEndDma;
    /// <summary>zdev->tlb_refresh ("refresh"): the hypervisor shadows the DMA tables, so new mappings must be announced
    /// with RPCIT too (iotlb_sync_map), and dev->iommu->shadow_on_flush is set.</summary>
    public bool TlbRefresh { get; set; }
    /// <summary>zdev->pft == PCI_FUNC_TYPE_ISM (Internal Shared Memory): no deferred flush (strict invalidation).</summary>
    public bool Ism { get; set; }
}
