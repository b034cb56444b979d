using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>
/// The DMA mapping operations of a device (Linux: include/linux/dma-map-ops.h, struct dma_map_ops). As seed 002
/// proposed and Linux adopted, there is ONE alloc/free/mmap taking <see cref="DmaAttrs"/> (write-combine,
/// no-kernel-mapping, force-contiguous ... are attributes, not extra entry points). dma-direct
/// (<see cref="DmaDirectOps"/>) and iommu-dma implement it; drivers never call it directly but go through
/// <see cref="DmaMapping"/>, which adds tracing and dma-debug. Results are values: <see cref="DmaAddr.MappingError"/>,
/// <see cref="CpuAddr.Null"/>, 0 mapped entries, or negative errno. <c>cpu</c> arguments say which CPU
/// the call runs on (per-CPU caches, swiotlb areas).
/// </summary>
public interface IDmaMapOps
{
    /// <summary>Name shown in reports ("dma-direct", "iommu-dma").</summary>
    string Name { get; }

    /// <summary>.alloc: coherent (or, with attributes, special) memory; returns the CPU address or NULL.</summary>
    CpuAddr Alloc(Device dev, ulong size, out DmaAddr dmaHandle, Gfp gfp, DmaAttrs attrs, int cpu);
    /// <summary>.free</summary>
    void Free(Device dev, ulong size, CpuAddr cpuAddr, DmaAddr dmaHandle, DmaAttrs attrs, int cpu);
    /// <summary>.alloc_pages_op: streaming-owned pages (dma_alloc_pages); returns the first page or null.</summary>
    PhysAddr? AllocPages(Device dev, ulong size, out DmaAddr dmaHandle, DmaDirection dir, Gfp gfp, int cpu);
    /// <summary>.free_pages</summary>
    void FreePages(Device dev, ulong size, PhysAddr page, DmaAddr dmaHandle, DmaDirection dir, int cpu);
    /// <summary>dma_alloc_noncoherent(): page_address() of <see cref="AllocPages"/> (the seed's DMA_ATTR_NON_CONSISTENT idea).</summary>
    CpuAddr AllocNoncoherent(Device dev, ulong size, out DmaAddr dmaHandle, DmaDirection dir, Gfp gfp, int cpu);
    /// <summary>dma_free_noncoherent()</summary>
    void FreeNoncoherent(Device dev, ulong size, CpuAddr cpuAddr, DmaAddr dmaHandle, DmaDirection dir, int cpu);
    /// <summary>.mmap: 0 with the installed mapping, or -ENXIO.</summary>
    int Mmap(Device dev, UserVma vma, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs, out DmaUserMapping mapping);
    /// <summary>.get_sgtable: describes an allocation as a one-entry table; 0 or negative errno.</summary>
    int GetSgtable(Device dev, Scatterlist sgt, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs);

    /// <summary>.map_page / .map_phys</summary>
    DmaAddr MapPage(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu);
    /// <summary>.unmap_page / .unmap_phys</summary>
    void UnmapPage(Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu);
    /// <summary>.map_sg: mapped entries (&gt; 0) or a negative errno (-EINVAL, -ENOMEM, -EIO, -EREMOTEIO).</summary>
    int MapSg(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs, int cpu);
    /// <summary>.unmap_sg</summary>
    void UnmapSg(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs, int cpu);
    /// <summary>.map_resource: MMIO (another device's registers), never bounced, no cache maintenance.</summary>
    DmaAddr MapResource(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu);
    /// <summary>.unmap_resource</summary>
    void UnmapResource(Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu);

    /// <summary>.sync_single_for_cpu</summary>
    void SyncSingleForCpu(Device dev, DmaAddr addr, ulong size, DmaDirection dir, int cpu);
    /// <summary>.sync_single_for_device</summary>
    void SyncSingleForDevice(Device dev, DmaAddr addr, ulong size, DmaDirection dir, int cpu);
    /// <summary>.sync_sg_for_cpu</summary>
    void SyncSgForCpu(Device dev, Scatterlist sg, int nents, DmaDirection dir, int cpu);
    /// <summary>.sync_sg_for_device</summary>
    void SyncSgForDevice(Device dev, Scatterlist sg, int nents, DmaDirection dir, int cpu);

    /// <summary>.dma_supported: can the device use <paramref name="mask"/>?</summary>
    bool DmaSupported(Device dev, ulong mask);
    /// <summary>.get_required_mask: the mask needed to reach all memory.</summary>
    ulong GetRequiredMask(Device dev);
    /// <summary>.max_mapping_size (ulong.MaxValue = SIZE_MAX).</summary>
    ulong MaxMappingSize(Device dev);
    /// <summary>.opt_mapping_size (ulong.MaxValue = no preference).</summary>
    ulong OptMappingSize();
}
