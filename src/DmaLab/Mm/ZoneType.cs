namespace DmaLab.Mm;

/// <summary>Memory zones the model knows (Linux: include/linux/mmzone.h, enum zone_type). Values are the
/// kernel's zone indices on a 64-bit kernel without HIGHMEM, so zonelist order is simply descending index.</summary>
public enum ZoneType
{
    /// <summary>ZONE_DMA: x86_64 below 16 MiB; arm64 below zone_dma_limit.</summary>
    Dma = 0,
    /// <summary>ZONE_DMA32: below 4 GiB.</summary>
    Dma32 = 1,
    /// <summary>ZONE_NORMAL: everything else.</summary>
    Normal = 2,
}
