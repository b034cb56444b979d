using DmaLab.Trace;

namespace DmaLab;

/// <summary>The IOMMU policy a boot may force over the platform's kernel options (Linux: iommu.strict=,
/// iommu.passthrough=).</summary>
public enum IommuPolicy
{
    /// <summary>Whatever the platform's kernel options say.</summary>
    Platform,
    /// <summary>iommu.strict=1: DMA domains, invalidation on every unmap.</summary>
    Strict,
    /// <summary>iommu.strict=0: DMA_FQ domains, flush queues (drivers without deferred flush stay strict).</summary>
    Lazy,
    /// <summary>iommu.passthrough=1: IDENTITY default domains, every device on dma-direct.</summary>
    Passthrough,
}

/// <summary>Default-domain policy (seed 001): one domain per device (Linux) or one per IOMMU instance (2014 proposal).</summary>
public enum DomainPolicy
{
    PerDevice,
    PerInstance,
}

/// <summary>How <see cref="Machine.Boot"/> boots a platform: seed, trace sink and what-if overrides.</summary>
public sealed class MachineOptions
{
    /// <summary>Seed of every seeded component (IOTLB replacement, cache eviction).</summary>
    public ulong Seed { get; init; }
    /// <summary>Where kernel-named trace events go (dma:*, iommu:*, swiotlb:*); null = nowhere.</summary>
    public ITraceSink? Trace { get; init; }
    /// <summary>IOMMU policy override.</summary>
    public IommuPolicy Policy { get; init; } = IommuPolicy.Platform;
    /// <summary>swiotlb=force: every dma-direct mapping bounces.</summary>
    public bool SwiotlbForce { get; init; }
    /// <summary>Default-domain policy override; null = the platform's kernel.domainPolicy.</summary>
    public DomainPolicy? DomainPolicy { get; init; }
    /// <summary>iommu.forcedac=1 override; null = the platform's.</summary>
    public bool? ForceDac { get; init; }
    /// <summary>dma-debug on/off override; null = the platform's.</summary>
    public bool? DmaDebug { get; init; }
    /// <summary>PCI host-bridge memory windows (CPU start, CPU end inclusive, CPU-to-bus offset) that
    /// iova_reserve_pci_windows() keeps out of the IOVA space of PCI devices (q35: the 32-bit MMIO hole).</summary>
    public IReadOnlyList<(ulong Start, ulong End, ulong Offset)> PciMemWindows { get; init; } = [];

    public static MachineOptions Default { get; } = new();
}
