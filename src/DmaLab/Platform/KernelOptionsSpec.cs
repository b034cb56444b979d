namespace DmaLab.Platform;

/// <summary>Kernel command-line policy knobs that shape DMA setup.</summary>
public sealed class KernelOptionsSpec
{
    /// <summary>iommu.passthrough=1: default domains are IDENTITY.</summary>
    public bool IommuPassthrough { get; set; }
    /// <summary>iommu.strict=1 (true) or lazy flush queues (false).</summary>
    public bool IommuStrict { get; set; } = true;
    /// <summary>iommu.forcedac=1: do not try a 32-bit IOVA first for PCI devices.</summary>
    public bool ForceDac { get; set; }
    /// <summary>"per-device" (Linux today) or "per-instance" (one default domain per IOMMU, the 2014 ARM proposal).</summary>
    public string DomainPolicy { get; set; } = "per-device";
    /// <summary>Enable dma-debug checks.</summary>
    public bool DmaDebug { get; set; } = true;
}
