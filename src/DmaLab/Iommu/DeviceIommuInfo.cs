namespace DmaLab.Iommu;

/// <summary>What boot decided for one device: its IOMMU, group, default domain, its type and why.</summary>
public sealed record DeviceIommuInfo(string Device, string? Iommu, int ProbeResult, int? GroupId, IommuGroup? Group,
    IommuDomain? DefaultDomain, IommuDomainType? DomainType, string Reason);
