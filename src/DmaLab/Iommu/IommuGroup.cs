using DmaLab.Devices;

namespace DmaLab.Iommu;

/// <summary>
/// The smallest set of devices the IOMMU can isolate from each other; domains are attached per group
/// (Linux: struct iommu_group in drivers/iommu/iommu.c).
/// </summary>
public sealed class IommuGroup
{
    internal readonly List<Device> Members = new();

    internal IommuGroup(int id, IommuDevice instance)
    {
        Id = id;
        Instance = instance;
    }

    /// <summary>The number in /sys/kernel/iommu_groups/N and in iommu:add_device_to_group "groupID=N".</summary>
    public int Id { get; }
    public IommuDevice Instance { get; }
    public IReadOnlyList<Device> Devices => Members;
    /// <summary>The domain the group returns to when no subsystem owns it (Linux: group->default_domain).</summary>
    public IommuDomain? DefaultDomain { get; internal set; }
    /// <summary>The domain currently attached (Linux: group->domain).</summary>
    public IommuDomain? Domain { get; internal set; }
    /// <summary>Why the default domain has its type (policy, driver or untrusted device), for reports.</summary>
    public string DefaultDomainReason { get; internal set; } = "";
    /// <summary>Set while a subsystem (DRM, VFIO) has claimed DMA ownership (Linux: group->owner).</summary>
    public object? Owner { get; internal set; }
    public override string ToString() => $"iommu_group {Id}";
}
