using DmaLab.Devices;

namespace DmaLab.DmaIommu;

/// <summary>
/// Per-device state iommu-dma keeps for a master using a DMA domain (Linux: the parts of struct device /
/// struct dev_iommu that iommu_dma_alloc_iova() reads: dma masks, bus_dma_limit, dev_is_pci() and
/// dev->iommu->pci_32bit_workaround).
/// </summary>
public sealed class IommuDmaMaster
{
    internal IommuDmaMaster(Device device, bool forceDac)
    {
        Device = device;
        // Linux: iommu_setup_dma_ops(): pci_32bit_workaround = !iommu_dma_forcedac for PCI devices.
        Pci32BitWorkaround = device.IsPci && !forceDac;
    }

    public Device Device { get; }

    /// <summary>
    /// Linux: dev->iommu->pci_32bit_workaround: try a 32-bit IOVA first. Cleared for good the first time that
    /// attempt fails ("Using N-bit DMA addresses").
    /// </summary>
    public bool Pci32BitWorkaround { get; internal set; }

    /// <summary>Number of times the 32-bit attempt failed and the workaround was dropped (0 or 1).</summary>
    public int DacFallbacks { get; internal set; }
}
