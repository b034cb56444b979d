namespace DmaLab.Dma;

/// <summary>Where a swiotlb pool's memory came from.</summary>
public enum SwiotlbPoolKind
{
    /// <summary>The default pool, allocated at boot from memblock below the platform's low limit (swiotlb_init_remap).</summary>
    Default,
    /// <summary>
    /// The default pool placed in a CMA range the caller allocated. This is DmaLab's platform option from seed 004,
    /// not a Linux behaviour: the 2013 patch discussed there ("swiotlb: Add support for CMA allocations") made
    /// swiotlb's coherent allocations try CMA first; it was turned away from lib/swiotlb.c (arm64 called
    /// dma_alloc_from_contiguous in its own dma-mapping code instead, and dma-direct later gained
    /// dma_alloc_contiguous). Upstream the bounce pool itself always comes from memblock or the page allocator.
    /// </summary>
    Cma,
    /// <summary>The default pool allocated late from the page allocator (swiotlb_init_late).</summary>
    Late,
    /// <summary>A per-device restricted-dma-pool reserved region (rmem_swiotlb_device_init): one area, force bounce, used for allocations too.</summary>
    Restricted,
}
