namespace DmaLab.Iommu.PageTables;

/// <summary>
/// NVIDIA Tegra SMMU (memory-controller SMMU of Tegra30..Tegra210) entries (Linux: drivers/iommu/tegra-smmu.c,
/// SMMU_MK_PDE()/SMMU_MK_PDIR(), tegra_smmu_map()). A 1024-entry page directory (4M per entry) points to 1024-entry
/// page tables (4K pages); both hold a page frame number in the low bits with RD[31], WR[30], NONSECURE[29];
/// a directory entry that points to a table also has NEXT[28] (without it the hardware treats it as a 4M section,
/// which the driver never writes).
/// </summary>
public readonly struct TegraPte : IPteFormat
{
    public const uint Readable = 1u << 31, Writable = 1u << 30, NonSecure = 1u << 29, PdeNext = 1u << 28;
    const uint PfnMask = 0x003f_ffff;   // 34-bit physical addresses (Tegra114 and later)

    public static int EntryBytes => 4;
    /// <summary>tegra_smmu_map() writes the PTE whatever it held (only the use count cares).</summary>
    public static LeafOverlapPolicy LeafOverlap => LeafOverlapPolicy.Overwrite;
    public static TableUnderLeafPolicy TableUnderLeaf => TableUnderLeafPolicy.Fail;
    public static PartialUnmapPolicy PartialUnmap => PartialUnmapPolicy.Refuse;
    /// <summary>tegra_smmu_pte_put_use(): the page table goes when its last PTE does.</summary>
    public static TableFreePolicy TableFree => TableFreePolicy.WhenEmpty;
    public static int OverlapErrno => -17;
    public static int NoAccessResult => 1;
    public static bool IncrementingLeaves => false;

    public int Levels => 2;
    public int Shift(int lvl) => lvl == 0 ? 22 : 12;
    public int IndexBits(int lvl) => 10;
    public int TableOrder(int lvl) => 0;
    public int LeafLevel(ulong pgsize) => pgsize == 1UL << 12 ? 1 : -1;

    public PteKind Classify(ulong pte, int lvl)
    {
        if (pte == 0) return PteKind.Invalid;
        if (lvl == 0) return (pte & PdeNext) != 0 ? PteKind.Table : (pte & (Readable | Writable)) != 0 ? PteKind.Leaf : PteKind.Invalid;
        return PteKind.Leaf;
    }

    public ulong TableAddress(ulong pte, int lvl) => (pte & PfnMask) << 12;
    public int NextLevel(ulong pte, int lvl) => lvl + 1;
    public ulong MakeTable(ulong table, int lvl) => (table >> 12) | Readable | Writable | NonSecure | PdeNext;

    public ulong MakeLeaf(ulong paddr, ulong pgsize, int lvl, IommuProt prot)
    {
        ulong pte = (paddr >> 12) | NonSecure;
        if ((prot & IommuProt.Read) != 0) pte |= Readable;
        if ((prot & IommuProt.Write) != 0) pte |= Writable;
        return pte;
    }

    public ulong LeafSize(ulong pte, int lvl) => 1UL << Shift(lvl);
    public ulong LeafAddress(ulong pte, int lvl) => ((pte & PfnMask) << 12) & ~(LeafSize(pte, lvl) - 1);

    public IommuProt LeafProt(ulong pte, int lvl)
    {
        IommuProt p = IommuProt.None;
        if ((pte & Readable) != 0) p |= IommuProt.Read;
        if ((pte & Writable) != 0) p |= IommuProt.Write;
        return p;
    }

    public ulong ClearedLeaf(ulong pte) => 0;
}
