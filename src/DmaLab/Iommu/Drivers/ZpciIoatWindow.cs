using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// A PCI function's registered I/O address translation (Linux: zpci_register_ioat(zdev, 0, base = start_dma,
/// limit = end_dma, iota)): the hardware translates only DMA addresses inside [PBA, PAL] through the table the IOTA
/// designates; an address outside the window is an error before any table is read. Everything else is the table's.
/// </summary>
public sealed class ZpciIoatWindow(IIoPgtable table, ulong pba, ulong pal) : IIoPgtable
{
    public IIoPgtable Table { get; } = table;
    /// <summary>PCI base address (start_dma) and PCI address limit (end_dma), inclusive.</summary>
    public ulong Pba { get; } = pba;
    public ulong Pal { get; } = pal;

    public IoPgtableFormat Format => Table.Format;
    public IoPgtableConfig Config => Table.Config;
    public Mm.PhysAddr Root => Table.Root;
    public long TablePages => Table.TablePages;

    public WalkResult Walk(ulong iova)
        => iova < Pba || iova > Pal ? new WalkResult(false, 0, 0, IommuProt.None, 0, WalkFault.AddressSize) : Table.Walk(iova);

    public ulong IovaToPhys(ulong iova) => iova < Pba || iova > Pal ? 0 : Table.IovaToPhys(iova);
    public int MapPages(ulong iova, ulong paddr, ulong pgsize, ulong pgcount, IommuProt prot, out ulong mapped)
        => Table.MapPages(iova, paddr, pgsize, pgcount, prot, out mapped);
    public ulong UnmapPages(ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather) => Table.UnmapPages(iova, pgsize, pgcount, ref gather);
    public void Free() => Table.Free();
}
