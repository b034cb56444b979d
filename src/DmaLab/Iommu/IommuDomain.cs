using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu;

/// <summary>
/// A translation context that groups of devices attach to (Linux: struct iommu_domain). Drivers derive from it to
/// hold their per-domain hardware state (context bank, ASID, domain ID), as the kernel embeds iommu_domain in
/// arm_smmu_domain, dmar_domain, protection_domain...
/// </summary>
public class IommuDomain
{
    static int s_nextId;

    public IommuDomain(IommuDomainType type, IIommuOps ops)
    {
        Type = type;
        Ops = ops;
        Id = Interlocked.Increment(ref s_nextId);
    }

    /// <summary>Debug identity, unique in the process.</summary>
    public int Id { get; }
    public IommuDomainType Type { get; internal set; }
    /// <summary>The driver (instance) that owns the domain (Linux: domain->ops / domain->owner).</summary>
    public IIommuOps Ops { get; }
    /// <summary>Page sizes map/unmap may use (Linux: domain->pgsize_bitmap).</summary>
    public ulong PgsizeBitmap { get; protected internal set; }
    public IommuDomainGeometry Geometry { get; protected internal set; }
    /// <summary>The io-pgtable behind a paging domain; null before the driver finalised it (SMMU does so at first attach).</summary>
    public IIoPgtable? Pgtable { get; protected internal set; }
    /// <summary>The hardware tag the IOTLB keys entries by (ASID, VT-d domain ID, AMD domain ID, context bank); -1 = none yet.</summary>
    public int HwTag { get; protected internal set; } = -1;
    /// <summary>Groups currently attached.</summary>
    public int AttachedGroups { get; internal set; }
    internal IommuFaultHandler? FaultHandler;
    internal object? FaultToken;

    public bool IsPaging => Type.IsPaging();
    public override string ToString() => $"domain#{Id}({Type.SysfsName()})";
}
