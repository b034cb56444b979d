using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>
/// Per-device coherent memory (Linux: kernel/dma/coherent.c, struct dma_coherent_mem): a region declared with
/// dma_declare_coherent_memory() or a no-map "shared-dma-pool" reserved-memory node, memremap()ed write-combine
/// once, and handed out in power-of-two page blocks by a bitmap (bitmap_find_free_region()). When a device has one,
/// dma_alloc_attrs() takes memory only from it: a failure here is final (dma_alloc_from_dev_coherent() returns 1).
/// </summary>
public sealed class DmaCoherentMemory
{
    readonly bool[] _bitmap;

    /// <param name="phys">CPU physical base</param>
    /// <param name="deviceBase">the bus address the device sees at <paramref name="phys"/> (device_addr)</param>
    /// <param name="virtBase">the write-combine remap of the region</param>
    public DmaCoherentMemory(PhysAddr phys, DmaAddr deviceBase, ulong size, CpuAddr virtBase)
    {
        if (size < PhysAddr.PageSize || phys.PageOffset != 0) throw new ArgumentException($"coherent memory at {phys} size {size}: needs whole pages");
        Phys = phys;
        DeviceBase = deviceBase;
        Pages = (int)(size >> PhysAddr.PageShift);
        VirtBase = virtBase;
        _bitmap = new bool[Pages];
    }

    public PhysAddr Phys { get; }
    public DmaAddr DeviceBase { get; }
    public CpuAddr VirtBase { get; }
    public int Pages { get; }
    public ulong Size => (ulong)Pages << PhysAddr.PageShift;
    public int PagesInUse { get; private set; }
    public long Failures { get; private set; }

    /// <summary>
    /// __dma_alloc_from_coherent(): a 2^get_order(size)-page block at the first naturally aligned free position;
    /// false when none is free. The caller zeroes the memory (memset through the WC mapping).
    /// </summary>
    public bool TryAlloc(ulong size, out DmaAddr dma, out CpuAddr cpu, out PhysAddr phys)
    {
        int order = GetOrder(size);
        int count = 1 << order;
        for (int pos = 0; pos + count <= Pages; pos += count)
        {
            bool free = true;
            for (int i = 0; i < count && free; i++) free = !_bitmap[pos + i];
            if (!free) continue;
            for (int i = 0; i < count; i++) _bitmap[pos + i] = true;
            PagesInUse += count;
            ulong off = (ulong)pos << PhysAddr.PageShift;
            dma = DeviceBase + off;
            cpu = VirtBase + off;
            phys = Phys + off;
            return true;
        }
        Failures++;
        dma = DmaAddr.MappingError; cpu = CpuAddr.Null; phys = default;
        return false;
    }

    /// <summary>Whether <paramref name="cpu"/> lies in this region (dma_release_from_dev_coherent's range test).</summary>
    public bool Contains(CpuAddr cpu) => cpu.Value >= VirtBase.Value && cpu.Value - VirtBase.Value < Size;

    /// <summary>__dma_release_from_coherent(): frees the 2^order block at <paramref name="cpu"/>; false when not ours.</summary>
    public bool Release(CpuAddr cpu, int order)
    {
        if (!Contains(cpu)) return false;
        int pos = (int)((cpu.Value - VirtBase.Value) >> PhysAddr.PageShift);
        int count = Math.Min(1 << order, Pages - pos);
        for (int i = 0; i < count; i++)
            if (_bitmap[pos + i]) { _bitmap[pos + i] = false; PagesInUse--; }
        return true;
    }

    /// <summary>get_order(): smallest order whose pages cover <paramref name="size"/>.</summary>
    public static int GetOrder(ulong size)
    {
        int order = 0;
        while ((PhysAddr.PageSize << order) < size) order++;
        return order;
    }
}
