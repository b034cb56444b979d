namespace DmaLab.Dma;

/// <summary>Where a swiotlb pool's memory came from.</summary>
public enum SwiotlbPoolKind
{
    /// <summary>The default pool, allocated at boot from memblock below the platform's low limit (swiotlb_init_remap).</summary>
    Default,
    /// <summary>
    /// The default pool placed in a CMA range the caller allocated (seed 004: Laura Abbott's 2013 "swiotlb: Add
    /// support for CMA allocations"; never merged upstream, where the pool always comes from memblock or the page
    /// allocator, so this is the seed's what-if, not a Linux behaviour).
    /// </summary>
    Cma,
    /// <summary>The default pool allocated late from the page allocator (swiotlb_init_late).</summary>
    Late,
    /// <summary>A per-device restricted-dma-pool reserved region (rmem_swiotlb_device_init): one area, force bounce, used for allocations too.</summary>
    Restricted,
}
