using DmaLab.Platform;

namespace DmaLab.Workloads;

/// <summary>
/// The IOMMU/DMA policies a workload runs under, as the kernel command line sets them: <c>iommu.strict=1</c>
/// (invalidate on every unmap), <c>iommu.strict=0</c> (lazy: flush queue), <c>iommu.passthrough=1</c> (identity
/// default domains, dma-direct) and <c>swiotlb=force</c> (every dma-direct mapping bounces).
/// Linux: drivers/iommu/iommu.c, iommu_set_def_domain_type() / iommu_dma_strict; kernel/dma/swiotlb.c, setup_io_tlb_npages().
/// </summary>
public static class WorkloadPolicy
{
    public const string Strict = "strict";
    public const string Lazy = "lazy";
    public const string Passthrough = "passthrough";
    public const string SwiotlbForce = "swiotlb-force";

    /// <summary>The variants every IOMMU workload runs under in <c>dmalab run</c>.</summary>
    public static IReadOnlyList<string> Default { get; } = [Strict, Lazy, Passthrough];
    /// <summary>Every policy <c>dmalab compare</c> accepts.</summary>
    public static IReadOnlyList<string> All { get; } = [Strict, Lazy, Passthrough, SwiotlbForce];

    public static bool IsKnown(string policy) => All.Contains(policy);

    /// <summary>A copy of <paramref name="spec"/> with the policy's kernel options (the original is not changed).</summary>
    public static PlatformSpec Apply(PlatformSpec spec, string policy)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var k = spec.Kernel;
        var kernel = new KernelOptionsSpec
        {
            IommuPassthrough = k.IommuPassthrough, IommuStrict = k.IommuStrict, ForceDac = k.ForceDac,
            DomainPolicy = k.DomainPolicy, DmaDebug = k.DmaDebug,
        };
        var s = spec.Swiotlb;
        var swiotlb = new SwiotlbSpec { Size = s.Size, Mode = s.Mode, Areas = s.Areas, FromCma = s.FromCma, Base = s.Base };
        switch (policy)
        {
            case Strict: kernel.IommuStrict = true; kernel.IommuPassthrough = false; break;
            case Lazy: kernel.IommuStrict = false; kernel.IommuPassthrough = false; break;
            case Passthrough: kernel.IommuPassthrough = true; break;
            case SwiotlbForce: swiotlb.Mode = "force"; break;
            default: throw new ArgumentException($"unknown policy '{policy}': expected one of {string.Join(", ", All)}", nameof(policy));
        }
        return new PlatformSpec
        {
            Name = spec.Name, Description = spec.Description, Arch = spec.Arch, Cpus = spec.Cpus, CacheLineSize = spec.CacheLineSize,
            VmallocSize = spec.VmallocSize, Memory = spec.Memory, ReservedMemory = spec.ReservedMemory, Cma = spec.Cma,
            Swiotlb = swiotlb, Kernel = kernel, Iommus = spec.Iommus, Devices = spec.Devices, Costs = spec.Costs,
            Source = spec.Source, Notes = spec.Notes,
        };
    }
}
