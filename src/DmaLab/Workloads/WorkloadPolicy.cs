namespace DmaLab.Workloads;

/// <summary>
/// The IOMMU/DMA policies a workload runs under, as the kernel command line sets them: <c>iommu.strict=1</c>
/// (invalidate on every unmap), <c>iommu.strict=0</c> (lazy: flush queue), <c>iommu.passthrough=1</c> (identity
/// default domains, dma-direct) and <c>swiotlb=force</c>, taken with the IOMMU out of the way
/// (<c>iommu.passthrough=1 swiotlb=force</c>, like the <c>intel_iommu=off swiotlb=force</c> capture): every
/// dma-direct mapping bounces. swiotlb=force alone changes nothing for a device iommu-dma translates.
/// Linux: drivers/iommu/iommu.c, iommu_set_def_domain_type() / iommu_dma_strict; kernel/dma/swiotlb.c, setup_io_tlb_npages().
/// </summary>
public static class WorkloadPolicy
{
    public const string Strict = "strict";
    public const string Lazy = "lazy";
    public const string Passthrough = "passthrough";
    public const string SwiotlbForce = "swiotlb-force";
    /// <summary>The platform's own kernel options, no override (for workloads without IOMMU variants).</summary>
    public const string Platform = "platform";

    /// <summary>The variants every IOMMU workload runs under in <c>dmalab run</c>.</summary>
    public static IReadOnlyList<string> Default { get; } = [Strict, Lazy, Passthrough];
    /// <summary>Every policy <c>dmalab compare</c> accepts.</summary>
    public static IReadOnlyList<string> All { get; } = [Strict, Lazy, Passthrough, SwiotlbForce];

    public static bool IsKnown(string policy) => policy == Platform || All.Contains(policy);
}
