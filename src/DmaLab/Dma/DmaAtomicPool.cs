using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>
/// One atomic coherent pool (Linux: kernel/dma/pool.c, atomic_pool_kernel / atomic_pool_dma32 / atomic_pool_dma):
/// physically contiguous pages taken at boot from its zone, made uncached (remapped with pgprot_dmacoherent on
/// arm64), and carved by a genalloc with page granularity (gen_pool_create(PAGE_SHIFT)) first-fit. Non-blocking
/// dma_alloc_* calls for devices that need a remap come here because vmap() may sleep.
/// The kernel grows a pool from a worker when it runs low; DmaLab keeps the boot size (noted in reports).
/// </summary>
public sealed class DmaAtomicPool
{
    readonly bool[] _used;

    public DmaAtomicPool(string name, ZoneType zone, PhysAddr phys, ulong size, CpuAddr virt)
    {
        Name = name;
        Zone = zone;
        Phys = phys;
        Virt = virt;
        _used = new bool[size >> PhysAddr.PageShift];
    }

    /// <summary>"DMA", "DMA32" or "" (kernel pool), as the boot message prints the gfp.</summary>
    public string Name { get; }
    public ZoneType Zone { get; }
    public PhysAddr Phys { get; }
    public CpuAddr Virt { get; }
    public ulong Size => (ulong)_used.Length << PhysAddr.PageShift;
    public ulong BytesInUse { get; private set; }

    /// <summary>gen_pool_alloc(): first fit of whole pages; false when no run is free.</summary>
    public bool TryAlloc(ulong size, out PhysAddr phys, out CpuAddr virt)
    {
        int n = (int)((size + PhysAddr.PageSize - 1) >> PhysAddr.PageShift);
        int run = 0;
        for (int i = 0; i < _used.Length; i++)
        {
            run = _used[i] ? 0 : run + 1;
            if (run < n) continue;
            int start = i - n + 1;
            for (int j = start; j <= i; j++) _used[j] = true;
            BytesInUse += (ulong)n << PhysAddr.PageShift;
            ulong off = (ulong)start << PhysAddr.PageShift;
            phys = Phys + off;
            virt = Virt + off;
            return true;
        }
        phys = default; virt = CpuAddr.Null;
        return false;
    }

    public bool Contains(CpuAddr virt) => virt.Value >= Virt.Value && virt.Value - Virt.Value < Size;

    /// <summary>gen_pool_free()</summary>
    public void Free(CpuAddr virt, ulong size)
    {
        int start = (int)((virt.Value - Virt.Value) >> PhysAddr.PageShift);
        int n = (int)((size + PhysAddr.PageSize - 1) >> PhysAddr.PageShift);
        for (int j = start; j < start + n && j < _used.Length; j++)
            if (_used[j]) { _used[j] = false; BytesInUse -= PhysAddr.PageSize; }
    }
}
