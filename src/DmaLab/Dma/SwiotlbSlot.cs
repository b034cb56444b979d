namespace DmaLab.Dma;

/// <summary>
/// Linux: kernel/dma/swiotlb.c, struct io_tlb_slot. <see cref="List"/> counts the free slots from this one to the
/// end of its free run inside the segment (0 = in use); <see cref="OrigAddr"/> and <see cref="AllocSize"/> let a
/// sync or unmap find the original buffer; <see cref="PadSlots"/> is valid only in the first non-padding slot.
/// </summary>
public struct SwiotlbSlot
{
    public ulong OrigAddr;
    public ulong AllocSize;
    public ushort List;
    public ushort PadSlots;
}
