using System.Runtime.CompilerServices;
using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>
/// Logic every <see cref="IDmaMapOps"/> shares: the arm64 cache maintenance of non-coherent masters
/// (arch/arm64/mm/dma-mapping.c: arch_sync_dma_for_device() cleans to the PoC for every direction,
/// arch_sync_dma_for_cpu() invalidates unless the buffer was only read by the device), dma_alloc_noncoherent() on
/// top of alloc_pages, the scatterlist loops of the sync and unmap calls, and WARN-style findings.
/// </summary>
public abstract class DmaMapOpsBase : IDmaMapOps
{
    protected DmaMapOpsBase(KernelAddressSpace kva, CpuCache? cache)
    {
        Kva = kva ?? throw new ArgumentNullException(nameof(kva));
        Cache = cache;
    }

    public abstract string Name { get; }
    public KernelAddressSpace Kva { get; }
    /// <summary>The CPU cache non-coherent masters need maintenance for; null = every access is coherent.</summary>
    public CpuCache? Cache { get; }
    readonly List<Finding> _findings = new();
    /// <summary>WARNs the ops raised (address overflow, pool failures...), oldest first.</summary>
    public IReadOnlyList<Finding> Findings => _findings;
    public List<Finding> TakeFindings() { var r = new List<Finding>(_findings); _findings.Clear(); return r; }

    protected void Warn(string kind, Device dev, ulong addr, string message) => _findings.Add(new Finding(kind, dev.Name, addr, message));

    /// <summary>arch_sync_dma_for_device(): dcache_clean_poc over the buffer, whatever the direction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void ArchSyncForDevice(PhysAddr phys, ulong size, DmaDirection dir) => Cache?.Clean(phys, size);

    /// <summary>arch_sync_dma_for_cpu(): nothing for TO_DEVICE, else dcache_inval_poc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void ArchSyncForCpu(PhysAddr phys, ulong size, DmaDirection dir)
    {
        if (dir == DmaDirection.ToDevice) return;
        Cache?.Invalidate(phys, size);
    }

    /// <summary>arch_dma_prep_coherent(): dcache_clean_inval_poc so no dirty line of the linear alias is written
    /// back over a buffer about to be used through an uncached mapping.</summary>
    protected void ArchDmaPrepCoherent(PhysAddr phys, ulong size) => Cache?.CleanInvalidate(phys, size);

    public abstract CpuAddr Alloc(Device dev, ulong size, out DmaAddr dmaHandle, Gfp gfp, DmaAttrs attrs, int cpu);
    public abstract void Free(Device dev, ulong size, CpuAddr cpuAddr, DmaAddr dmaHandle, DmaAttrs attrs, int cpu);
    public abstract PhysAddr? AllocPages(Device dev, ulong size, out DmaAddr dmaHandle, DmaDirection dir, Gfp gfp, int cpu);
    public abstract void FreePages(Device dev, ulong size, PhysAddr page, DmaAddr dmaHandle, DmaDirection dir, int cpu);

    /// <summary>dma_alloc_noncoherent(): page_address() of dma_alloc_pages(), cacheable, owned by the device after
    /// the driver's dma_sync_single_for_device().</summary>
    public virtual CpuAddr AllocNoncoherent(Device dev, ulong size, out DmaAddr dmaHandle, DmaDirection dir, Gfp gfp, int cpu)
    {
        var page = AllocPages(dev, size, out dmaHandle, dir, gfp, cpu);
        return page is { } p ? Kva.LinearAddress(p) : CpuAddr.Null;
    }

    /// <summary>dma_free_noncoherent()</summary>
    public virtual void FreeNoncoherent(Device dev, ulong size, CpuAddr cpuAddr, DmaAddr dmaHandle, DmaDirection dir, int cpu)
    {
        if (Kva.Resolve(cpuAddr, out var phys) != CpuMappingKind.Linear)
        {
            Warn("free-noncoherent-bad-address", dev, cpuAddr.Value, $"dma_free_noncoherent of {cpuAddr}, which is not a linear-map address");
            return;
        }
        FreePages(dev, size, phys, dmaHandle, dir, cpu);
    }

    public abstract int Mmap(Device dev, UserVma vma, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs, out DmaUserMapping mapping);
    public abstract int GetSgtable(Device dev, Scatterlist sgt, CpuAddr cpuAddr, DmaAddr dmaAddr, ulong size, DmaAttrs attrs);
    public abstract DmaAddr MapPage(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu);
    public abstract void UnmapPage(Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu);
    public abstract int MapSg(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs, int cpu);

    /// <summary>Unmaps every mapped entry (dma_direct_unmap_sg: for_each_sg over nents, by dma address).</summary>
    public virtual void UnmapSg(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        for (int i = 0; i < nents; i++)
        {
            ref var e = ref sg[i];
            UnmapPage(dev, e.DmaAddress, e.DmaLength, dir, attrs, cpu);
        }
    }

    public abstract DmaAddr MapResource(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu);
    public abstract void UnmapResource(Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu);
    public abstract void SyncSingleForCpu(Device dev, DmaAddr addr, ulong size, DmaDirection dir, int cpu);
    public abstract void SyncSingleForDevice(Device dev, DmaAddr addr, ulong size, DmaDirection dir, int cpu);

    public virtual void SyncSgForCpu(Device dev, Scatterlist sg, int nents, DmaDirection dir, int cpu)
    {
        for (int i = 0; i < nents; i++) SyncSingleForCpu(dev, sg[i].DmaAddress, sg[i].DmaLength, dir, cpu);
    }

    public virtual void SyncSgForDevice(Device dev, Scatterlist sg, int nents, DmaDirection dir, int cpu)
    {
        for (int i = 0; i < nents; i++) SyncSingleForDevice(dev, sg[i].DmaAddress, sg[i].DmaLength, dir, cpu);
    }

    public abstract bool DmaSupported(Device dev, ulong mask);
    public abstract ulong GetRequiredMask(Device dev);
    public abstract ulong MaxMappingSize(Device dev);
    public virtual ulong OptMappingSize() => ulong.MaxValue;
}
