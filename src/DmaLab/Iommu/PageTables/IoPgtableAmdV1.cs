using DmaLab.Mm;

namespace DmaLab.Iommu.PageTables;

/// <summary>
/// AMD IOMMU v1 host page tables, 1 to 6 levels (Linux: drivers/iommu/amd/io_pgtable.c, v1_alloc_pgtable(),
/// iommu_v1_map_pages()/unmap_pages()). Every power-of-two size from 4K up is possible except 512G
/// (AMD_IOMMU_PGSIZES); sizes between level sizes are replicated "next level 7" entries. Map overwrites what is
/// there; unmap of part of a large page unmaps all of it; tables are only given back when the table is freed.
/// The depth is fixed at creation (<see cref="IoPgtableConfig.Levels"/>, or from <see cref="IoPgtableConfig.Ias"/>);
/// the kernel instead starts at 3 levels and grows the root on demand (increase_address_space()).
/// Register: "DTE0" = root | V | TV | Mode (levels) [11:9] | IR | IW (Linux: set_dte_entry()).
/// </summary>
public sealed class IoPgtableAmdV1 : IoPgtableRadix<AmdV1Pte>
{
    /// <summary>Linux: AMD_IOMMU_PGSIZES = everything from 4K, except 512G.</summary>
    public const ulong AmdIommuPgsizes = ~0xFFFUL & ~(2UL << 38);

    public IoPgtableAmdV1(IoPgtableConfig config, PhysicalMemory memory, IPageAllocator pages)
        : base(IoPgtableFormat.AmdV1, config, memory, pages, Negotiate(config))
    {
        config.Registers["DTE0"] = Root.Value | 1 | 2 | (ulong)Fmt.Levels << 9 | AmdV1Pte.Ir | AmdV1Pte.Iw;
    }

    static AmdV1Pte Negotiate(IoPgtableConfig config)
    {
        int levels = config.Levels != 0 ? config.Levels : Math.Clamp((config.Ias - 12 + 8) / 9, 1, 6);
        if (levels < 1 || levels > 6) throw new ArgumentException($"AMD v1: {levels} levels is outside 1..6");
        config.Levels = levels;
        int coverage = 12 + 9 * levels;
        config.Ias = Math.Min(config.Ias, Math.Min(64, coverage));
        config.Oas = Math.Min(config.Oas, 52);
        ulong below = coverage >= 64 ? ulong.MaxValue : (1UL << coverage) - 1;
        config.PgsizeBitmap &= AmdIommuPgsizes & below;
        if (config.Ias < 64) config.PgsizeBitmap &= (1UL << config.Ias << 1) - 1;
        return new AmdV1Pte(levels);
    }
}
