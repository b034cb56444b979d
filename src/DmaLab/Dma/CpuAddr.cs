namespace DmaLab.Dma;

/// <summary>
/// A kernel virtual address as the DMA API hands it to drivers (Linux: the void * cpu_addr of dma_alloc_attrs()):
/// a linear-map address, a vmalloc-area remap, or, with DMA_ATTR_NO_KERNEL_MAPPING, an opaque struct page cookie.
/// <see cref="KernelAddressSpace"/> tells them apart. Zero is NULL.
/// </summary>
public readonly record struct CpuAddr(ulong Value)
{
    public static readonly CpuAddr Null = default;
    public bool IsNull => Value == 0;
    public static CpuAddr operator +(CpuAddr a, ulong b) => new(a.Value + b);
    public override string ToString() => $"0x{Value:x16}";
}
