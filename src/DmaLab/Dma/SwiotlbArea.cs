namespace DmaLab.Dma;

/// <summary>
/// Linux: kernel/dma/swiotlb.c, struct io_tlb_area: one lock domain of the pool with its used-slot count and the
/// index where the next search starts (just past the last allocation).
/// </summary>
public struct SwiotlbArea
{
    public ulong Used;
    public uint Index;
}
