namespace DmaLab.Iommu.PageTables;

/// <summary>
/// Configuration handed to a format (Linux: struct io_pgtable_cfg). The format narrows <see cref="PgsizeBitmap"/>
/// to what it can really do and fills <see cref="Registers"/> with the values the driver would program.
/// </summary>
public sealed class IoPgtableConfig
{
    /// <summary>Page and block sizes the domain may use (bit n set = 2^n bytes).</summary>
    public ulong PgsizeBitmap { get; set; }
    /// <summary>Input (IOVA) address size in bits.</summary>
    public int Ias { get; set; } = 48;
    /// <summary>Output (physical) address size in bits.</summary>
    public int Oas { get; set; } = 48;
    /// <summary>The walker snoops CPU caches (no clean needed after a descriptor write).</summary>
    public bool CoherentWalk { get; set; } = true;
    /// <summary>Intel VT-d: 4- or 5-level tables; AMD: number of levels. 0 = the format's default.</summary>
    public int Levels { get; set; }
    public IIommuFlushOps? Tlb { get; set; }
    /// <summary>
    /// Zone flags added to every table-page allocation, so a walker with a narrow output address can reach its own
    /// tables (Linux: the gfp a driver passes to its table allocations, e.g. sun50i-iommu.c GFP_DMA32,
    /// rockchip-iommu.c rk_ops->gfp_flags; io-pgtable-arm-v7s.c adds ARM_V7S_TABLE_GFP_DMA itself).
    /// </summary>
    public DmaLab.Mm.Gfp TableGfp { get; set; }
    /// <summary>Format quirks (Linux: io_pgtable_cfg.quirks).</summary>
    public IoPgtableQuirks Quirks { get; set; }
    /// <summary>Register values the driver programs for this table (e.g. TTBR0, TCR, MAIR; VT-d context entry; AMD DTE).</summary>
    public Dictionary<string, ulong> Registers { get; } = new(StringComparer.Ordinal);
}
