using DmaLab.Iommu.Hardware;
using DmaLab.Platform;

namespace DmaLab.Iommu;

/// <summary>
/// A registered IOMMU instance (Linux: struct iommu_device, iommu_device_register()): its spec, its driver (ops)
/// and its hardware translation unit.
/// </summary>
public sealed class IommuDevice
{
    public IommuDevice(IommuSpec spec, TranslationUnit hardware)
    {
        Spec = spec;
        Name = spec.Name;
        Hardware = hardware;
    }

    public IommuSpec Spec { get; }
    public string Name { get; }
    public TranslationUnit Hardware { get; }
    /// <summary>Set once by the driver's constructor.</summary>
    public IIommuOps Ops { get; internal set; } = null!;
    /// <summary>The shared default domain under the "per-instance" policy; null otherwise.</summary>
    public IommuDomain? SharedDefaultDomain { get; internal set; }
    public override string ToString() => Name;
}
