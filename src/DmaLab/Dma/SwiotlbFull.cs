namespace DmaLab.Dma;

/// <summary>
/// A failed bounce-slot search, as data. Linux: kernel/dma/swiotlb.c, swiotlb_tbl_map_single() prints
/// "swiotlb buffer is full (sz: %zd bytes), total %lu (slots), used %lu (slots)" (rate-limited, and not at all
/// with DMA_ATTR_NO_WARN) and returns DMA_MAPPING_ERROR. <see cref="Size"/> is the padded request
/// (mapping size + alignment offset, rounded to the allocation alignment), <see cref="TotalSlots"/> is
/// mem->nslabs, <see cref="UsedSlots"/> is mem_used() at the time.
/// </summary>
public readonly record struct SwiotlbFull(string Device, ulong Size, ulong TotalSlots, ulong UsedSlots, bool NoWarn)
{
    /// <summary>The kernel's message text (dev_warn prefixes it with the driver and device name).</summary>
    public string Message => $"swiotlb buffer is full (sz: {Size} bytes), total {TotalSlots} (slots), used {UsedSlots} (slots)";
    public override string ToString() => $"{Device}: {Message}";
}
