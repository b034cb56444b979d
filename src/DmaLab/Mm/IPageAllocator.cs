namespace DmaLab.Mm;

/// <summary>
/// The page allocator contract (Linux: alloc_pages()/__free_pages()). Page-table formats, swiotlb and dma-direct
/// take their pages through it so every page in use is accounted and leaks are visible.
/// </summary>
public interface IPageAllocator
{
    /// <summary>Allocates 2^order contiguous, naturally aligned pages. Returns false when no block can be found.</summary>
    bool TryAllocPages(int order, Gfp gfp, out PhysAddr page);
    void FreePages(PhysAddr page, int order);
    /// <summary>Pages currently handed out by this allocator.</summary>
    long PagesInUse { get; }
}
