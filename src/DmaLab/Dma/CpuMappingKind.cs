namespace DmaLab.Dma;

/// <summary>What a kernel virtual address is, and so how a CPU access through it behaves.</summary>
public enum CpuMappingKind
{
    /// <summary>Not a mapped kernel address: an access is a bug (a kernel oops on real hardware).</summary>
    Unmapped = 0,
    /// <summary>The linear map (page_address()): Normal cacheable memory, accesses go through the CPU cache.</summary>
    Linear,
    /// <summary>A vmalloc-area remap with pgprot_dmacoherent (arm64: Normal non-cacheable): accesses bypass the cache.</summary>
    RemapNonCached,
    /// <summary>A vmalloc-area remap with write-combine attributes (DMA_ATTR_WRITE_COMBINE, memremap WC): bypasses the cache.</summary>
    RemapWriteCombine,
    /// <summary>A vmalloc-area remap that is cacheable (coherent devices needing a contiguous view).</summary>
    RemapCached,
    /// <summary>A DMA_ATTR_NO_KERNEL_MAPPING cookie (a struct page pointer): not dereferenceable.</summary>
    PageCookie,
}
