using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>
/// Contiguous DMA buffers from CMA, shared by dma-direct and iommu-dma (Linux: kernel/dma/contiguous.c,
/// dma_alloc_contiguous() / dma_free_contiguous()): the device's own CMA area, else the default area for more than
/// a page, only for callers that may block; alignment by order capped at CONFIG_CMA_ALIGNMENT.
/// </summary>
public static class DmaContiguous
{
    /// <summary>gfpflags_allow_blocking(): the caller may sleep (not atomic context).</summary>
    public static bool AllowBlocking(Gfp gfp) => (gfp & Gfp.DirectReclaim) != 0;

    public static PhysAddr? Alloc(MemorySystem mem, Device dev, ulong size, Gfp gfp)
    {
        if (!AllowBlocking(gfp)) return null;
        var area = dev.DmaState.CmaArea;
        if (area is null)
        {
            if (size <= PhysAddr.PageSize) return null;
            area = mem.DefaultCma;
            if (area is null) return null;
        }
        int align = Math.Min(DmaCoherentMemory.GetOrder(size), DmaDirectOps.CmaAlignment);
        return area.Alloc(Pages(size), align, out var page, (gfp & Gfp.NoWarn) != 0) == 0 ? page : null;
    }

    /// <summary>Back to the CMA area the pages came from, else to the buddy allocator.</summary>
    public static void Free(MemorySystem mem, Device dev, PhysAddr page, ulong size)
    {
        var area = dev.DmaState.CmaArea ?? mem.DefaultCma;
        if (area is not null && area.Release(page, Pages(size))) return;
        mem.PageAllocator.FreePages(page, DmaCoherentMemory.GetOrder(size));
    }

    static ulong Pages(ulong size) => (size + PhysAddr.PageSize - 1) >> PhysAddr.PageShift;
}
