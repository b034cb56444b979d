namespace DmaLab.Iommu.PageTables;

/// <summary>
/// VMSAv8-64 long descriptors (Arm ARM D8.3 "Translation table descriptor formats"; Linux: io-pgtable-arm.c).
/// bits[1:0] = 0b11 table (or page at the last level), 0b01 block; output address [47:granule];
/// stage 1: AttrIndx[4:2], NS[5], AP[7:6], SH[9:8], AF[10], nG[11], XN[54:53];
/// stage 2: MemAttr[5:2], S2AP[7:6], SH[9:8], AF[10], XN[54:53].
/// </summary>
public readonly struct ArmLpaePte : IPteFormat
{
    public const ulong TypeTable = 3, TypeBlock = 1, TypePage = 3;
    public const ulong AttrIndxShift = 2, Ns = 1UL << 5, ApUnpriv = 1UL << 6, ApRdonly = 1UL << 7;
    public const ulong S2apRead = 1UL << 6, S2apWrite = 1UL << 7;
    public const ulong ShOs = 2UL << 8, ShIs = 3UL << 8, Af = 1UL << 10, NG = 1UL << 11, Xn = 3UL << 53, NsTable = 1UL << 63;
    /// <summary>MAIR indices the kernel programs (ARM_LPAE_MAIR_ATTR_IDX_*).</summary>
    public const ulong MairIdxNc = 0, MairIdxCache = 1, MairIdxDev = 2;
    /// <summary>Stage-2 MemAttr encodings (ARM_LPAE_PTE_MEMATTR_*): device nGnRE, normal non-cacheable, normal write-back.</summary>
    public const ulong S2MemAttrDev = 0x1, S2MemAttrNc = 0x5, S2MemAttrOiwb = 0xf;
    const ulong OaMask = 0x0000_FFFF_FFFF_F000;

    readonly int _g, _levels, _pgdBits, _startLevel;
    readonly bool _stage2, _ns;

    public ArmLpaePte(int granuleShift, int levels, int pgdBits, bool stage2, bool ns)
    {
        _g = granuleShift; _levels = levels; _pgdBits = pgdBits; _stage2 = stage2; _ns = ns;
        _startLevel = 4 - levels;
    }

    public static int EntryBytes => 8;
    public static LeafOverlapPolicy LeafOverlap => LeafOverlapPolicy.Fail;
    public static TableUnderLeafPolicy TableUnderLeaf => TableUnderLeafPolicy.Replace;
    public static PartialUnmapPolicy PartialUnmap => PartialUnmapPolicy.Refuse;
    public static TableFreePolicy TableFree => TableFreePolicy.BlockSizedUnmap;
    public static int OverlapErrno => -17;
    public static int NoAccessResult => 0;
    public static bool IncrementingLeaves => false;

    public int Levels => _levels;
    /// <summary>Architectural level (0..3) of our level 0.</summary>
    public int StartLevel => _startLevel;
    public int Shift(int lvl) => _g + (_levels - 1 - lvl) * (_g - 3);
    public int IndexBits(int lvl) => lvl == 0 ? _pgdBits : _g - 3;
    public int TableOrder(int lvl) => Math.Max(0, IndexBits(lvl) + 3 - 12);

    public int LeafLevel(ulong pgsize)
    {
        for (int lvl = 0; lvl < _levels; lvl++)
            if (1UL << Shift(lvl) == pgsize) return BlockAllowed(lvl) ? lvl : -1;
        return -1;
    }

    /// <summary>Blocks exist at level 1 and 2 with 4K granules, at level 2 only with 16K/64K (no LPA).</summary>
    bool BlockAllowed(int lvl)
    {
        int arch = _startLevel + lvl;
        return arch == 3 || arch == 2 || (arch == 1 && _g == 12);
    }

    public PteKind Classify(ulong pte, int lvl)
    {
        if ((pte & 1) == 0) return PteKind.Invalid;
        bool typeBit = (pte & 2) != 0;
        if (lvl == _levels - 1) return typeBit ? PteKind.Leaf : PteKind.Malformed;
        if (typeBit) return PteKind.Table;
        return BlockAllowed(lvl) ? PteKind.Leaf : PteKind.Malformed;
    }

    public ulong TableAddress(ulong pte, int lvl) => pte & OaMask & ~((1UL << _g) - 1);
    public int NextLevel(ulong pte, int lvl) => lvl + 1;
    public ulong MakeTable(ulong table, int lvl) => table | TypeTable | (_ns ? NsTable : 0);

    /// <summary>Linux: arm_lpae_prot_to_pte() + __arm_lpae_init_pte().</summary>
    public ulong MakeLeaf(ulong paddr, ulong pgsize, int lvl, IommuProt prot)
    {
        ulong pte;
        if (_stage2)
        {
            pte = 0;
            if ((prot & IommuProt.Read) != 0) pte |= S2apRead;
            if ((prot & IommuProt.Write) != 0) pte |= S2apWrite;
            ulong memAttr = (prot & IommuProt.Mmio) != 0 ? S2MemAttrDev : (prot & IommuProt.Cache) != 0 ? S2MemAttrOiwb : S2MemAttrNc;
            pte |= memAttr << 2;
        }
        else
        {
            pte = NG;
            if ((prot & IommuProt.Write) == 0 && (prot & IommuProt.Read) != 0) pte |= ApRdonly;
            if ((prot & IommuProt.Priv) == 0) pte |= ApUnpriv;
            ulong idx = (prot & IommuProt.Mmio) != 0 ? MairIdxDev : (prot & IommuProt.Cache) != 0 ? MairIdxCache : MairIdxNc;
            pte |= idx << (int)AttrIndxShift;
            if (_ns) pte |= Ns;
        }
        pte |= (prot & IommuProt.Cache) != 0 ? ShIs : ShOs;
        if ((prot & IommuProt.NoExec) != 0) pte |= Xn;
        pte |= Af;
        pte |= lvl == _levels - 1 ? TypePage : TypeBlock;
        return pte | paddr;
    }

    public ulong LeafAddress(ulong pte, int lvl) => pte & OaMask & ~((1UL << Shift(lvl)) - 1);
    public ulong LeafSize(ulong pte, int lvl) => 1UL << Shift(lvl);

    public IommuProt LeafProt(ulong pte, int lvl)
    {
        IommuProt p;
        if (_stage2)
        {
            p = IommuProt.None;
            if ((pte & S2apRead) != 0) p |= IommuProt.Read;
            if ((pte & S2apWrite) != 0) p |= IommuProt.Write;
            ulong memAttr = (pte >> 2) & 0xf;
            if (memAttr == S2MemAttrOiwb) p |= IommuProt.Cache;
            else if ((memAttr & 0xc) == 0) p |= IommuProt.Mmio;
        }
        else
        {
            p = IommuProt.Read;
            if ((pte & ApRdonly) == 0) p |= IommuProt.Write;
            if ((pte & ApUnpriv) == 0) p |= IommuProt.Priv;
            ulong idx = (pte >> (int)AttrIndxShift) & 7;
            if (idx == MairIdxCache) p |= IommuProt.Cache;
            else if (idx == MairIdxDev) p |= IommuProt.Mmio;
        }
        if ((pte & Xn) != 0) p |= IommuProt.NoExec;
        // No access flag: the walker takes an Access flag fault; treat the descriptor as not granting anything.
        if ((pte & Af) == 0) p = IommuProt.None;
        return p;
    }

    public ulong ClearedLeaf(ulong pte) => 0;
}
