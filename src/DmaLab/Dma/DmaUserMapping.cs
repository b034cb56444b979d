using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>A user VMA to map a DMA buffer into (Linux: the struct vm_area_struct given to dma_mmap_attrs()).</summary>
public readonly record struct UserVma(ulong Start, ulong Size, ulong PgOff)
{
    public ulong Pages => Size >> PhysAddr.PageShift;
}

/// <summary>What dma_mmap_attrs() installed: remap_pfn_range() of <see cref="Size"/> bytes from <see cref="Phys"/>
/// at <see cref="VmStart"/>, with the page protection dma_pgprot() chose.</summary>
public readonly record struct DmaUserMapping(ulong VmStart, PhysAddr Phys, ulong Size, CpuMappingKind Prot);
