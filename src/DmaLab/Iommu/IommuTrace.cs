using DmaLab.Devices;
using DmaLab.Trace;

namespace DmaLab.Iommu;

/// <summary>
/// The iommu trace events in the kernel's TP_printk text (Linux: include/trace/events/iommu.h). Callers check
/// <see cref="ITraceSink.Enabled"/> through these helpers, so nothing is formatted when tracing is off.
/// </summary>
public static class IommuTrace
{
    const string System = "iommu";

    public static void AddDeviceToGroup(ITraceSink sink, int groupId, Device dev)
    {
        if (sink.Enabled) sink.Write(0, System, "add_device_to_group", $"IOMMU: groupID={groupId} device={dev.Name}");
    }

    public static void RemoveDeviceFromGroup(ITraceSink sink, int groupId, Device dev)
    {
        if (sink.Enabled) sink.Write(0, System, "remove_device_from_group", $"IOMMU: groupID={groupId} device={dev.Name}");
    }

    public static void AttachDeviceToDomain(ITraceSink sink, Device dev)
    {
        if (sink.Enabled) sink.Write(0, System, "attach_device_to_domain", $"IOMMU: device={dev.Name}");
    }

    public static void Map(ITraceSink sink, ulong iova, ulong paddr, ulong size)
    {
        if (sink.Enabled) sink.Write(0, System, "map", MapText(iova, paddr, size));
    }

    public static void Unmap(ITraceSink sink, ulong iova, ulong size, ulong unmapped)
    {
        if (sink.Enabled) sink.Write(0, System, "unmap", UnmapText(iova, size, unmapped));
    }

    /// <param name="driver">dev_driver_string() of the faulting master: its bound driver, else its bus name.</param>
    public static void IoPageFault(ITraceSink sink, string driver, Device dev, ulong iova, IommuFaultFlags flags)
    {
        if (sink.Enabled) sink.Write(0, System, "io_page_fault", IoPageFaultText(driver, dev.Name, iova, (int)flags));
    }

    public static string MapText(ulong iova, ulong paddr, ulong size)
        => $"IOMMU: iova=0x{iova:x16} - 0x{iova + size:x16} paddr=0x{paddr:x16} size={size}";

    public static string UnmapText(ulong iova, ulong size, ulong unmapped)
        => $"IOMMU: iova=0x{iova:x16} - 0x{iova + size:x16} size={size} unmapped_size={unmapped}";

    public static string IoPageFaultText(string driver, string device, ulong iova, int flags)
        => $"IOMMU:{driver} {device} iova=0x{iova:x16} flags=0x{flags:x4}";
}
