namespace DmaLab.Devices;

/// <summary>Outcome of a device transfer.</summary>
public enum DmaStatus
{
    Ok,
    /// <summary>The IOMMU aborted the access (no translation or no permission).</summary>
    IommuFault,
    /// <summary>The bus address is outside the device's dma-ranges.</summary>
    NoRoute,
    /// <summary>The physical address is not DRAM (master abort / external abort).</summary>
    BusError,
}

/// <summary>A transfer's status, bytes moved before it stopped and the bus address where it stopped.</summary>
public readonly record struct DmaTransferResult(DmaStatus Status, ulong Bytes, ulong StopAddress)
{
    public bool Ok => Status == DmaStatus.Ok;
}
