using DmaLab.Devices;

namespace DmaLab.Iommu;

/// <summary>Fault flags passed to fault handlers and printed by iommu:io_page_fault (Linux: IOMMU_FAULT_READ = 0, IOMMU_FAULT_WRITE = 1).</summary>
[Flags]
public enum IommuFaultFlags
{
    Read = 0,
    Write = 1,
}

/// <summary>Why the translation unit faulted (the hardware's reason, kept for reports).</summary>
public enum IommuFaultReason
{
    /// <summary>No valid translation for the IOVA.</summary>
    Translation,
    /// <summary>The mapping does not allow the access (read or write).</summary>
    Permission,
    /// <summary>IOVA above the input address size.</summary>
    AddressSize,
    /// <summary>The stream is configured to abort (blocked domain, no context).</summary>
    Abort,
    /// <summary>The table walk read a malformed descriptor or non-DRAM address.</summary>
    External,
    /// <summary>The stream configuration (STE, context entry, DTE) is invalid.</summary>
    BadConfig,
}

/// <summary>One recorded IOMMU fault (what lands in an event queue / fault status register, and in reports).</summary>
public readonly record struct IommuFault(string Iommu, string Device, ulong Iova, IommuFaultFlags Flags, IommuFaultReason Reason, ulong TimeNs);

/// <summary>
/// A fault handler installed on a domain (Linux: iommu_fault_handler_t, iommu_set_fault_handler()).
/// Return 0 when handled; any other value (-ENOSYS) lets the driver print/record it as unhandled.
/// </summary>
public delegate int IommuFaultHandler(IommuDomain domain, Device device, ulong iova, IommuFaultFlags flags, object? token);
