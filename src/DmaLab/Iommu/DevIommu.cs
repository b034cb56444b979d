using DmaLab.Devices;

namespace DmaLab.Iommu;

/// <summary>
/// The IOMMU state of one probed device (Linux: struct dev_iommu with its iommu_fwspec and the driver's private data).
/// </summary>
public sealed class DevIommu
{
    internal DevIommu(Device device, IommuDevice instance, IReadOnlyList<uint> ids)
    {
        Device = device;
        Instance = instance;
        Ids = ids;
    }

    public Device Device { get; }
    public IommuDevice Instance { get; }
    /// <summary>The firmware IDs (stream IDs, requester ID, context numbers) as the binding gives them (Linux: fwspec->ids).</summary>
    public IReadOnlyList<uint> Ids { get; }
    public IommuGroup? Group { get; internal set; }
    /// <summary>The translation unit port the device's transactions enter by; -1 before probe.</summary>
    public int Port { get; set; } = -1;
    /// <summary>The driver's per-master data (Linux: dev_iommu_priv_get()).</summary>
    public object? Priv { get; set; }
    /// <summary>Linux: dev_iommu.shadow_on_flush: the driver's IOTLB flushes also sync shadow tables (s390 zPCI functions
    /// with tlb_refresh), so iommu-dma gives the device's lazy domain one large shared flush queue.</summary>
    public bool ShadowOnFlush { get; set; }
}
