using DmaLab.Devices;
using DmaLab.Platform;

namespace DmaLab.Iommu;

/// <summary>The default-domain type chosen for a group, or an error with the kernel's reason.</summary>
public readonly record struct DefaultDomainChoice(int Error, IommuDomainType Type, bool FromDriverOrDevice, string Reason);

/// <summary>
/// Chooses the type of a group's default domain (Linux: drivers/iommu/iommu.c, iommu_subsys_init() for the global
/// iommu_def_domain_type, iommu_get_default_domain_type() and iommu_get_def_domain_type() for the per-group
/// decision; dma-iommu.c iommu_dma_init_domain() for the DMA-FQ → DMA downgrade when the driver cannot defer flushes).
/// </summary>
public static class DefaultDomainPolicy
{
    /// <summary>The global default type from the command line: iommu.passthrough=1 → IDENTITY, else DMA (strict) or DMA-FQ (lazy).</summary>
    public static IommuDomainType GlobalDefault(KernelOptionsSpec k)
        => k.IommuPassthrough ? IommuDomainType.Identity : k.IommuStrict ? IommuDomainType.Dma : IommuDomainType.DmaFq;

    static string GlobalReason(KernelOptionsSpec k)
        => k.IommuPassthrough ? "iommu.passthrough=1" : k.IommuStrict ? "iommu.strict=1 (translated, strict)" : "iommu.strict=0 (translated, lazy)";

    /// <summary>
    /// The type the group asks for: every device's driver preference must agree (IDENTITY wins a conflict, as the
    /// kernel recovers), an untrusted PCI device forces DMA and refuses a driver override to anything else, and with
    /// no preference the global default applies.
    /// </summary>
    /// <param name="armDmaUseIommu">ARM32 (CONFIG_ARM_DMA_USE_IOMMU): the default domain is IDENTITY and the arch
    /// DMA code later attaches its own UNMANAGED domain.</param>
    public static DefaultDomainChoice Decide(KernelOptionsSpec k, IIommuOps ops, IReadOnlyList<Device> devices, bool armDmaUseIommu = false)
    {
        IommuDomainType? driverType = armDmaUseIommu ? IommuDomainType.Identity : null;
        string reason = armDmaUseIommu ? "ARM32 CONFIG_ARM_DMA_USE_IOMMU: IDENTITY (arm_iommu attaches its own domain)" : "";
        Device? untrusted = null;
        foreach (var dev in devices)
        {
            var t = ops.DefDomainType(dev);
            if (t is { } type && driverType != type)
            {
                if (driverType is null) { driverType = type; reason = $"driver {ops.DriverName} def_domain_type({dev.Name})"; }
                else if (type == IommuDomainType.Identity) { driverType = type; reason = $"driver conflict in group, IDENTITY wins ({dev.Name})"; }
            }
            if (dev.IsPci && dev.Untrusted)
            {
                if (armDmaUseIommu) return new(-Errno.EINVAL, IommuDomainType.Identity, true, $"untrusted device {dev.Name} cannot work with ARM32 DMA (WARN_ON)");
                untrusted = dev;
            }
        }
        if (untrusted is not null)
        {
            if (driverType is { } dt && dt != IommuDomainType.Dma)
                return new(-Errno.EINVAL, dt, true, $"device {untrusted.Name} is not trusted, but driver is overriding group to {dt.SysfsName()}, refusing to probe");
            return new(0, IommuDomainType.Dma, true, $"untrusted device {untrusted.Name}: strict DMA");
        }
        if (driverType is { } d) return new(0, d, true, reason);
        return new(0, GlobalDefault(k), false, GlobalReason(k));
    }

    /// <summary>A DMA-FQ domain whose driver lacks IOMMU_CAP_DEFERRED_FLUSH runs strict (iommu_dma_init_domain()).</summary>
    public static IommuDomainType ApplyDeferredFlushCap(IommuDomainType type, bool deferredFlush)
        => type == IommuDomainType.DmaFq && !deferredFlush ? IommuDomainType.Dma : type;
}
