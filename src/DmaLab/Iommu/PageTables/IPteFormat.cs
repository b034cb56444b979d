namespace DmaLab.Iommu.PageTables;

/// <summary>
/// One format's descriptor encoding and radix geometry, consumed by <see cref="IoPgtableRadix{TFormat}"/>.
/// Implemented by readonly structs so the shared walk is specialised and devirtualised per format.
/// Levels are numbered from 0 (the table the root register points to) down to <see cref="Levels"/>-1.
/// </summary>
public interface IPteFormat
{
    /// <summary>Descriptor width in bytes: 4 (short formats) or 8.</summary>
    static abstract int EntryBytes { get; }
    static abstract LeafOverlapPolicy LeafOverlap { get; }
    static abstract TableUnderLeafPolicy TableUnderLeaf { get; }
    static abstract PartialUnmapPolicy PartialUnmap { get; }
    static abstract TableFreePolicy TableFree { get; }
    /// <summary>Errno returned when a map overlaps (-EEXIST = -17, -EADDRINUSE = -98).</summary>
    static abstract int OverlapErrno { get; }
    /// <summary>Result of a map with neither read nor write: 0 (silently nothing, io-pgtable-arm), -EINVAL, or 1 = map it anyway.</summary>
    static abstract int NoAccessResult { get; }
    /// <summary>A page larger than the leaf level's entry is written as consecutive small pages (Rockchip), not replicated copies.</summary>
    static abstract bool IncrementingLeaves { get; }
    /// <summary>Value of every entry of a freshly allocated table (<paramref name="lastLevel"/>: a leaf-level table).
    /// 0 for formats whose valid bit is set when valid; s390 marks invalid entries with a set bit instead.</summary>
    static virtual ulong EmptyEntry(bool lastLevel) => 0;

    int Levels { get; }
    /// <summary>log2 of the bytes one entry at <paramref name="lvl"/> covers.</summary>
    int Shift(int lvl);
    /// <summary>log2 of the number of entries in a table at <paramref name="lvl"/>.</summary>
    int IndexBits(int lvl);
    /// <summary>Page order of a table allocation at <paramref name="lvl"/>.</summary>
    int TableOrder(int lvl);
    /// <summary>Level whose entries hold a leaf of <paramref name="pgsize"/> (possibly replicated), or -1.</summary>
    int LeafLevel(ulong pgsize);
    PteKind Classify(ulong pte, int lvl);
    ulong TableAddress(ulong pte, int lvl);
    /// <summary>Level of the table a table descriptor at <paramref name="lvl"/> points to (lvl+1 unless the format skips levels).</summary>
    int NextLevel(ulong pte, int lvl);
    ulong MakeTable(ulong table, int lvl);
    ulong MakeLeaf(ulong paddr, ulong pgsize, int lvl, IommuProt prot);
    /// <summary>Output address of the first byte the leaf maps.</summary>
    ulong LeafAddress(ulong pte, int lvl);
    /// <summary>Bytes the leaf maps (a replicated large page reports its full size).</summary>
    ulong LeafSize(ulong pte, int lvl);
    IommuProt LeafProt(ulong pte, int lvl);
    /// <summary>Value written when a leaf is unmapped (0, or the old value with its valid bit cleared).</summary>
    ulong ClearedLeaf(ulong pte);
}
