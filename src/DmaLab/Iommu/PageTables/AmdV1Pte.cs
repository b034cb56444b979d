using System.Numerics;

namespace DmaLab.Iommu.PageTables;

/// <summary>
/// AMD IOMMU host page-table entries, "v1" format (AMD I/O Virtualization Technology spec 48882, 2.2.3 "I/O Page
/// Tables for Host Translations"; Linux: drivers/iommu/amd/amd_iommu_types.h, io_pgtable.c).
/// PR[0], NextLevel[11:9], address [51:12], U[59], FC[60], IR[61], IW[62]. A PDE names the level of the table it
/// points to (lower than current-1 = levels skipped). A PTE has NextLevel 0 (page of the level's size) or 7 (a
/// "default page size" page whose size is coded in the address: the lowest clear address bit at or above 12 is bit
/// log2(size)-1), written to every entry it covers. Levels here: 0 = root (spec level = Levels), Levels-1 = spec level 1.
/// </summary>
public readonly struct AmdV1Pte : IPteFormat
{
    public const ulong Pr = 1, Fc = 1UL << 60, Ir = 1UL << 61, Iw = 1UL << 62;
    public const int NextLevelShift = 9;
    public const ulong AddrMask = 0x000F_FFFF_FFFF_F000;

    readonly int _levels;

    public AmdV1Pte(int levels) => _levels = levels;

    public static int EntryBytes => 8;
    /// <summary>iommu_v1_map_pages() clears whatever is there (free_clear_pte()) and writes the new entry.</summary>
    public static LeafOverlapPolicy LeafOverlap => LeafOverlapPolicy.Overwrite;
    public static TableUnderLeafPolicy TableUnderLeaf => TableUnderLeafPolicy.Replace;
    public static PartialUnmapPolicy PartialUnmap => PartialUnmapPolicy.WholeLeaf;
    public static TableFreePolicy TableFree => TableFreePolicy.Never;
    public static int OverlapErrno => -17;
    public static int NoAccessResult => -22;
    public static bool IncrementingLeaves => false;

    public int Levels => _levels;
    int SpecLevel(int lvl) => _levels - lvl;
    public int Shift(int lvl) => 12 + 9 * (_levels - 1 - lvl);
    public int IndexBits(int lvl) => Math.Min(9, 64 - Shift(lvl));
    public int TableOrder(int lvl) => 0;

    /// <summary>Linux: PAGE_SIZE_LEVEL(): the level whose entry size is the largest not above the page size.</summary>
    public int LeafLevel(ulong pgsize)
    {
        int k = (BitOperations.TrailingZeroCount(pgsize) - 12) / 9;
        return k < _levels ? _levels - 1 - k : -1;
    }

    public PteKind Classify(ulong pte, int lvl)
    {
        if ((pte & Pr) == 0) return PteKind.Invalid;
        int nl = (int)(pte >> NextLevelShift) & 7;
        if (nl == 0 || nl == 7) return PteKind.Leaf;
        return nl < SpecLevel(lvl) ? PteKind.Table : PteKind.Malformed;
    }

    public ulong TableAddress(ulong pte, int lvl) => pte & AddrMask;
    public int NextLevel(ulong pte, int lvl) => _levels - (int)((pte >> NextLevelShift) & 7);
    /// <summary>Linux: PM_LEVEL_PDE(): PR | IR | IW | next level.</summary>
    public ulong MakeTable(ulong table, int lvl) => table | Pr | Ir | Iw | (ulong)(SpecLevel(lvl) - 1) << NextLevelShift;

    public ulong MakeLeaf(ulong paddr, ulong pgsize, int lvl, IommuProt prot)
    {
        ulong pte = pgsize > 1UL << Shift(lvl)
            ? ((paddr | (pgsize - 1)) & ~(pgsize >> 1) & AddrMask) | 7UL << NextLevelShift   // Linux: PAGE_SIZE_PTE()
            : paddr;
        pte |= Pr | Fc;
        if ((prot & IommuProt.Read) != 0) pte |= Ir;
        if ((prot & IommuProt.Write) != 0) pte |= Iw;
        return pte;
    }

    public ulong LeafSize(ulong pte, int lvl)
    {
        if (((pte >> NextLevelShift) & 7) != 7) return 1UL << Shift(lvl);
        int zero = BitOperations.TrailingZeroCount(~((pte & AddrMask) >> 12)) + 12;
        return zero >= 63 ? 0 : 1UL << (zero + 1);
    }

    public ulong LeafAddress(ulong pte, int lvl) => pte & AddrMask & ~(LeafSize(pte, lvl) - 1);

    public IommuProt LeafProt(ulong pte, int lvl)
    {
        IommuProt p = IommuProt.None;
        if ((pte & Ir) != 0) p |= IommuProt.Read;
        if ((pte & Iw) != 0) p |= IommuProt.Write;
        if ((pte & Fc) != 0) p |= IommuProt.Cache;
        return p;
    }

    public ulong ClearedLeaf(ulong pte) => 0;
}
