using DmaLab.Devices;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu;

/// <summary>
/// The driver operations of one IOMMU instance (Linux: struct iommu_ops + struct iommu_domain_ops). Results are
/// values: 0 or a negative errno; a null domain means the type is not supported.
/// </summary>
public interface IIommuOps
{
    /// <summary>The driver's name as the kernel prints it (dev_driver_string of the IOMMU: "arm-smmu-v3", "dmar"...).</summary>
    string DriverName { get; }
    /// <summary>The registered instance this driver object drives.</summary>
    IommuDevice Instance { get; }
    /// <summary>Page sizes the hardware supports (Linux: ops->pgsize_bitmap / smmu->pgsize_bitmap).</summary>
    ulong PgsizeBitmap { get; }
    bool Capable(Device dev, IommuCap cap);
    /// <summary>Linux: ops->probe_device(). -ENODEV when the device is not behind this IOMMU.</summary>
    int ProbeDevice(Device dev, DevIommu state);
    /// <summary>Linux: ops->release_device().</summary>
    void ReleaseDevice(Device dev, DevIommu state);
    /// <summary>Linux: ops->device_group(): find the group the device must share, or create one through the core's helpers.</summary>
    IommuGroup? DeviceGroup(Device dev, IommuCore core);
    /// <summary>Linux: ops->def_domain_type(); null = no preference.</summary>
    IommuDomainType? DefDomainType(Device dev);
    /// <summary>Linux: ops->domain_alloc_paging / identity_domain / blocked_domain. Null = type not supported.</summary>
    IommuDomain? DomainAlloc(IommuDomainType type, Device? dev);
    /// <summary>Linux: domain->ops->free(); releases tables and hardware tags.</summary>
    void DomainFree(IommuDomain domain);
    /// <summary>Linux: domain->ops->attach_dev(): program the stream (STE, context entry, S2CR...) to use the domain.</summary>
    int AttachDev(IommuDomain domain, Device dev);
    int MapPages(IommuDomain domain, ulong iova, ulong paddr, ulong pgsize, ulong pgcount, IommuProt prot, out ulong mapped);
    ulong UnmapPages(IommuDomain domain, ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather);
    /// <summary>Linux: domain->ops->iotlb_sync_map() (caching-mode VT-d, non-coherent walkers); 0 when nothing to do.</summary>
    int IotlbSyncMap(IommuDomain domain, ulong iova, ulong size);
    /// <summary>Linux: domain->ops->iotlb_sync(): invalidate what the gather collected and wait for completion.</summary>
    void IotlbSync(IommuDomain domain, ref IommuIotlbGather gather);
    /// <summary>Linux: domain->ops->flush_iotlb_all().</summary>
    void FlushIotlbAll(IommuDomain domain);
    ulong IovaToPhys(IommuDomain domain, ulong iova);
    /// <summary>Linux: ops->get_resv_regions().</summary>
    void GetResvRegions(Device dev, List<ReservedRegion> regions);
}
