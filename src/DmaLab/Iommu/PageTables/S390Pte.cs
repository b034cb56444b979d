namespace DmaLab.Iommu.PageTables;

/// <summary>
/// s390 zPCI DMA translation-table entries (z/Architecture Principles of Operation, "DAT table entries" region /
/// segment / page-table entry formats, as the PCI function's I/O address translation uses them; Linux:
/// arch/s390/include/asm/pci_dma.h and drivers/iommu/s390-iommu.c set_rt_sto()/set_st_pto()/validate_*_entry()/
/// dma_update_cpu_trans(), Linux 6.15).
/// <list type="bullet">
/// <item>Region entries (first/second/third): origin of the next table [63:14] (ZPCI_RTE_ADDR_MASK), the entry's table
/// type TT [3:2] (ZPCI_TABLE_TYPE_RFX 0xc / RSX 0x8 / RTX 0x4, naming the table the entry lives in), invalid I [5]
/// (ZPCI_TABLE_INVALID 0x20), protection P [9] (0x200), table offset TF [7:6] (0xc0) and table length TL [1:0]
/// (ZPCI_TABLE_LEN_RTX 0x3 = the next table has all 2048 entries).</item>
/// <item>Segment-table entry: page-table origin [63:11] (ZPCI_STE_ADDR_MASK, page tables are 2 KiB aligned), TT = 0
/// (ZPCI_TABLE_TYPE_SX), I [5], P [9]; no length field.</item>
/// <item>Page-table entry: page-frame real address [63:12] (ZPCI_PTE_ADDR_MASK), invalid [10] (ZPCI_PTE_INVALID 0x400,
/// ZPCI_PTE_VALID_MASK), protection [9] (ZPCI_TABLE_PROTECTED: DMA writes are refused; reads always allowed).</item>
/// </list>
/// Invalid is a set bit, so a fresh table is filled with ZPCI_TABLE_INVALID / ZPCI_PTE_INVALID
/// (dma_alloc_cpu_table(), dma_alloc_page_table()), never zeros: a zero region entry would be a valid entry of the
/// wrong type. Region and segment tables hold 2048 8-byte entries (ZPCI_TABLE_SIZE 16 KiB, 11 index bits); page
/// tables 256 (ZPCI_PT_SIZE 2 KiB, ZPCI_PT_BITS 8). Only 4 KiB pages exist. Levels here: 0 = the table the IOTA
/// points at (region-third for 3 levels, region-second for 4, region-first for 5), Levels-2 = segment table,
/// Levels-1 = page table.
/// </summary>
public readonly struct S390Pte : IPteFormat
{
    /// <summary>ZPCI_TABLE_INVALID / ZPCI_TABLE_VALID_MASK: region and segment entries.</summary>
    public const ulong TableInvalid = 0x20;
    /// <summary>ZPCI_TABLE_PROTECTED / ZPCI_TABLE_PROT_MASK: shared by every entry type.</summary>
    public const ulong Protected = 0x200;
    /// <summary>ZPCI_PTE_INVALID / ZPCI_PTE_VALID_MASK: page-table entries.</summary>
    public const ulong PteInvalid = 0x400;
    /// <summary>ZPCI_TABLE_TYPE_MASK and the four types.</summary>
    public const ulong TypeMask = 0xc, TypeRfx = 0xc, TypeRsx = 0x8, TypeRtx = 0x4, TypeSx = 0x0;
    /// <summary>ZPCI_TABLE_LEN_RFX/RSX/RTX: table length field [1:0], 3 = four 4 KiB blocks = 2048 entries.</summary>
    public const ulong TableLenFull = 0x3, TableLenMask = 0x3;
    /// <summary>ZPCI_TABLE_OFFSET_MASK: table offset field [7:6].</summary>
    public const ulong TableOffsetMask = 0xc0;
    /// <summary>ZPCI_RTE_ADDR_MASK, ZPCI_STE_ADDR_MASK, ZPCI_PTE_ADDR_MASK.</summary>
    public const ulong RteAddrMask = ~0x3fffUL, SteAddrMask = ~0x7ffUL, PteAddrMask = ~0xfffUL;
    /// <summary>ZPCI_TABLE_BITS (region/segment index width), ZPCI_PT_BITS (page index width).</summary>
    public const int TableBits = 11, PtBits = 8;
    /// <summary>ZPCI_ST_SHIFT (20), ZPCI_RT_SHIFT (31); a region-second entry spans 2^42, a region-first 2^53.</summary>
    public const int StShift = PtBits + 12, RtShift = StShift + TableBits;

    readonly int _levels;

    /// <param name="levels">3 (region-third origin, ZPCI_TABLE_TYPE_RTX), 4 (RSX) or 5 (RFX).</param>
    public S390Pte(int levels) => _levels = levels;

    public static int EntryBytes => 8;
    /// <summary>dma_update_cpu_trans() rewrites the entry whatever it held (validate_pt_entry() only WARNs once).</summary>
    public static LeafOverlapPolicy LeafOverlap => LeafOverlapPolicy.Overwrite;
    /// <summary>No large pages: never reached.</summary>
    public static TableUnderLeafPolicy TableUnderLeaf => TableUnderLeafPolicy.Fail;
    public static PartialUnmapPolicy PartialUnmap => PartialUnmapPolicy.Refuse;
    /// <summary>Tables are only given back when the domain is freed (dma_cleanup_tables()).</summary>
    public static TableFreePolicy TableFree => TableFreePolicy.Never;
    public static int OverlapErrno => -17;
    /// <summary>s390_iommu_map_pages() has no read-permission bit to drop: a mapping without IOMMU_WRITE is a valid,
    /// protected (read-only) entry.</summary>
    public static int NoAccessResult => 1;
    public static bool IncrementingLeaves => false;
    /// <summary>dma_alloc_cpu_table() fills region/segment tables with ZPCI_TABLE_INVALID, dma_alloc_page_table()
    /// page tables with ZPCI_PTE_INVALID.</summary>
    public static ulong EmptyEntry(bool lastLevel) => lastLevel ? PteInvalid : TableInvalid;

    public int Levels => _levels;
    public int Shift(int lvl) => lvl == _levels - 1 ? 12 : StShift + TableBits * (_levels - 2 - lvl);
    public int IndexBits(int lvl) => lvl == _levels - 1 ? PtBits : TableBits;
    /// <summary>Region and segment tables are 16 KiB (order 2, naturally aligned as ZPCI_TABLE_ALIGN wants). Linux
    /// carves 2 KiB page tables from a kmem_cache (ZPCI_PT_SIZE/ZPCI_PT_ALIGN); here each page table has a page of its
    /// own with its 256 entries at the real offsets in the first 2 KiB (the walk only ever indexes those).</summary>
    public int TableOrder(int lvl) => lvl == _levels - 1 ? 0 : 2;
    public int LeafLevel(ulong pgsize) => pgsize == 1UL << 12 ? _levels - 1 : -1;

    /// <summary>The TT value the entries of the table at <paramref name="lvl"/> carry.</summary>
    public ulong TypeOf(int lvl) => (_levels - 2 - lvl) switch { 0 => TypeSx, 1 => TypeRtx, 2 => TypeRsx, _ => TypeRfx };

    public PteKind Classify(ulong pte, int lvl)
    {
        if (lvl == _levels - 1) return (pte & PteInvalid) != 0 ? PteKind.Invalid : PteKind.Leaf;
        if ((pte & TableInvalid) != 0) return PteKind.Invalid;
        // A valid entry of another table type is a translation-specification exception for the walker.
        if ((pte & TypeMask) != TypeOf(lvl)) return PteKind.Malformed;
        // The driver always writes full-length region tables (TF = 0, TL = 3); a shorter table would make part of the
        // index range an exception, which this model does not track per index.
        if (lvl < _levels - 2 && ((pte & TableLenMask) != TableLenFull || (pte & TableOffsetMask) != 0)) return PteKind.Malformed;
        return PteKind.Table;
    }

    public ulong TableAddress(ulong pte, int lvl) => pte & (lvl == _levels - 2 ? SteAddrMask : RteAddrMask);
    public int NextLevel(ulong pte, int lvl) => lvl + 1;

    /// <summary>set_st_pto() + validate_st_entry(), or set_r?_r?o() + validate_r?_entry(); entry_clr_protected().</summary>
    public ulong MakeTable(ulong table, int lvl)
        => lvl == _levels - 2 ? (table & SteAddrMask) | TypeSx : (table & RteAddrMask) | TypeOf(lvl) | TableLenFull;

    /// <summary>dma_update_cpu_trans(): set_pt_pfaa() + validate_pt_entry(), protected unless IOMMU_WRITE.</summary>
    public ulong MakeLeaf(ulong paddr, ulong pgsize, int lvl, IommuProt prot)
        => (paddr & PteAddrMask) | ((prot & IommuProt.Write) != 0 ? 0 : Protected);

    public ulong LeafAddress(ulong pte, int lvl) => pte & PteAddrMask;
    public ulong LeafSize(ulong pte, int lvl) => 1UL << 12;
    public IommuProt LeafProt(ulong pte, int lvl) => (pte & Protected) != 0 ? IommuProt.Read : IommuProt.Read | IommuProt.Write;

    /// <summary>dma_update_cpu_trans(ZPCI_PTE_INVALID): invalidate_pt_entry() sets the invalid bit and keeps the frame
    /// address; entry_clr_protected() clears P.</summary>
    public ulong ClearedLeaf(ulong pte) => (pte & ~Protected) | PteInvalid;
}
