using DmaLab.Devices;

namespace DmaLab.DmaIommu;

/// <summary>What iommu-dma keeps for one device using it: its domain's cookie and its IOVA-allocation state
/// (Linux: iommu_get_dma_domain(dev)->iova_cookie and dev->iommu->pci_32bit_workaround).</summary>
public sealed class IommuDmaDevice
{
    internal IommuDmaDevice(Device device, IommuDmaCookie cookie, IommuDmaMaster master)
    {
        Device = device;
        Cookie = cookie;
        Master = master;
    }

    public Device Device { get; }
    public IommuDmaCookie Cookie { get; }
    public IommuDmaMaster Master { get; }
}
