namespace DmaLab.Iommu.PageTables;

/// <summary>
/// VMSAv7 short descriptors as io-pgtable-arm-v7s.c writes them (Arm ARM DDI 0406C B3.5.1 "Short-descriptor
/// translation table format descriptors"). Level 0 here = first level (4096 × 4 B, 1M per entry: 0b01 page table,
/// 0b1x section, bit 18 supersection = 16 replicated entries); level 1 = second level (256 × 4 B: 0b1x small page
/// with XN in bit 0, 0b01 large page = 16 replicated entries with XN in bit 15 and TEX in [14:12]).
/// Attributes (kernel's TEX-remap view): B[2], C[3], then AP0(AF)/AP1(unpriv)/TEX/AP2(read-only)/S/nG at
/// [17:10] in a section and [11:4] in a page.
/// </summary>
public readonly struct ArmV7sPte : IPteFormat
{
    public const uint TypeTable = 0x1, TypePage = 0x2, TypeContPage = 0x1;
    public const uint AttrB = 1u << 2, AttrC = 1u << 3, NsTable = 1u << 3, NsSection = 1u << 19, ContSection = 1u << 18;
    public const int ContPageXnShift = 15, ContPageTexShift = 6;
    /// <summary>Fields of the 8-bit attribute block (ARM_V7S_ATTR_*), placed at bit 10 (section) or 4 (page).</summary>
    public const uint Ap0Af = 1u << 0, Ap1Unpriv = 1u << 1, Ap2Rdonly = 1u << 5, AttrS = 1u << 6, AttrNg = 1u << 7, Tex1 = 1u << 2;
    const uint TableMask = 0xffff_fc00, SectionMask = 0xfff0_0000, SuperMask = 0xff00_0000, PageMask = 0xffff_f000, LargeMask = 0xffff_0000;

    readonly bool _perms, _ns;

    public ArmV7sPte(bool perms, bool ns) { _perms = perms; _ns = ns; }

    public static int EntryBytes => 4;
    public static LeafOverlapPolicy LeafOverlap => LeafOverlapPolicy.Fail;
    public static TableUnderLeafPolicy TableUnderLeaf => TableUnderLeafPolicy.Replace;
    public static PartialUnmapPolicy PartialUnmap => PartialUnmapPolicy.Refuse;
    public static TableFreePolicy TableFree => TableFreePolicy.BlockSizedUnmap;
    public static int OverlapErrno => -17;
    public static int NoAccessResult => 0;
    public static bool IncrementingLeaves => false;

    public int Levels => 2;
    public int Shift(int lvl) => lvl == 0 ? 20 : 12;
    public int IndexBits(int lvl) => lvl == 0 ? 12 : 8;
    /// <summary>First level is 16 KiB (order 2); a 1 KiB second-level table takes a whole page here (the kernel packs them in a kmem_cache).</summary>
    public int TableOrder(int lvl) => lvl == 0 ? 2 : 0;

    public int LeafLevel(ulong pgsize) => pgsize switch
    {
        1UL << 24 or 1UL << 20 => 0,
        1UL << 16 or 1UL << 12 => 1,
        _ => -1,
    };

    public PteKind Classify(ulong pte, int lvl)
    {
        uint type = (uint)pte & 3;
        if (type == 0) return PteKind.Invalid;
        if (lvl == 0 && type == TypeTable) return PteKind.Table;
        return PteKind.Leaf;
    }

    public ulong TableAddress(ulong pte, int lvl) => pte & TableMask;
    public int NextLevel(ulong pte, int lvl) => lvl + 1;
    public ulong MakeTable(ulong table, int lvl) => table | TypeTable | (_ns ? NsTable : 0);

    /// <summary>Linux: arm_v7s_prot_to_pte() and arm_v7s_pte_to_cont().</summary>
    public ulong MakeLeaf(ulong paddr, ulong pgsize, int lvl, IommuProt prot)
    {
        uint attr = AttrNg | AttrS;
        if ((prot & IommuProt.Mmio) == 0) attr |= Tex1;
        if (_perms)
        {
            attr |= Ap0Af;
            if ((prot & IommuProt.Priv) == 0) attr |= Ap1Unpriv;
            if ((prot & IommuProt.Write) == 0) attr |= Ap2Rdonly;
        }
        uint pte = attr << (lvl == 0 ? 10 : 4);
        if ((prot & IommuProt.NoExec) != 0 && _perms) pte |= lvl == 0 ? 1u << 4 : 1u;
        if ((prot & IommuProt.Mmio) != 0) pte |= AttrB;
        else if ((prot & IommuProt.Cache) != 0) pte |= AttrB | AttrC;
        pte |= TypePage;
        if (lvl == 0 && _ns) pte |= NsSection;
        bool cont = pgsize > 1UL << Shift(lvl);
        if (cont)
        {
            if (lvl == 0) pte |= ContSection;
            else
            {
                uint xn = pte & 1u, tex = pte & (7u << ContPageTexShift);
                pte ^= xn | tex | TypePage;
                pte |= xn << ContPageXnShift | tex << ContPageTexShift | TypeContPage;
            }
        }
        return pte | (uint)paddr & (lvl == 0 ? SectionMask : PageMask);
    }

    static bool IsCont(ulong pte, int lvl) => lvl == 0 ? (pte & ContSection) != 0 : (pte & 3) == TypeContPage;

    public ulong LeafAddress(ulong pte, int lvl)
        => pte & (lvl == 0 ? (IsCont(pte, 0) ? SuperMask : SectionMask) : (IsCont(pte, 1) ? LargeMask : PageMask));

    public ulong LeafSize(ulong pte, int lvl) => 1UL << (Shift(lvl) + (IsCont(pte, lvl) ? 4 : 0));

    public IommuProt LeafProt(ulong pte, int lvl)
    {
        uint attr = (uint)(pte >> (lvl == 0 ? 10 : 4)) & 0xff;
        IommuProt p = IommuProt.Read;
        if (!_perms || (attr & Ap2Rdonly) == 0) p |= IommuProt.Write;
        if (_perms && (attr & Ap1Unpriv) == 0) p |= IommuProt.Priv;
        bool xn = lvl == 0 ? (pte & (1u << 4)) != 0 : IsCont(pte, 1) ? (pte & (1u << ContPageXnShift)) != 0 : (pte & 1) != 0;
        if (xn) p |= IommuProt.NoExec;
        uint bc = (uint)pte & (AttrB | AttrC);
        if (bc == (AttrB | AttrC)) p |= IommuProt.Cache;
        else if (bc == AttrB) p |= IommuProt.Mmio;
        if (_perms && (attr & Ap0Af) == 0) p = IommuProt.None;   // access flag fault
        return p;
    }

    public ulong ClearedLeaf(ulong pte) => 0;
}
