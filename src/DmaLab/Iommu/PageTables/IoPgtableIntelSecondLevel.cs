using DmaLab.Mm;

namespace DmaLab.Iommu.PageTables;

/// <summary>
/// Intel VT-d second-level tables, 3-, 4- or 5-level (Linux: drivers/iommu/intel/iommu.c; AGAW 39/48/57 bits).
/// <see cref="IoPgtableConfig.Levels"/> 0 picks the depth from <see cref="IoPgtableConfig.Ias"/>. Page sizes are cut
/// to 4K|2M|1G (the driver adds 2M/1G from CAP.SLLPS). Partial unmap of a superpage unmaps all of it and reports its
/// size (intel_iommu_unmap(): "Cope with horrid API which requires us to unmap more than the size argument");
/// tables are freed when an unmap covers their whole span (dma_pte_clear_level()).
/// Registers: "ContextLo" (SLPTPTR | P, TT = 0 untranslated requests through second level), "ContextHi" (AW; the
/// driver adds the domain id in [23:8]), "AGAW".
/// </summary>
public sealed class IoPgtableIntelSecondLevel : IoPgtableRadix<IntelSlPte>
{
    public IoPgtableIntelSecondLevel(IoPgtableConfig config, PhysicalMemory memory, IPageAllocator pages)
        : base(IoPgtableFormat.IntelSecondLevel, config, memory, pages, Negotiate(config))
    {
        int agaw = Fmt.Levels - 2;
        config.Registers["ContextLo"] = Root.Value | 1;
        config.Registers["ContextHi"] = (ulong)agaw;
        config.Registers["AGAW"] = (ulong)agaw;
    }

    static IntelSlPte Negotiate(IoPgtableConfig config)
    {
        int levels = config.Levels != 0 ? config.Levels : config.Ias <= 39 ? 3 : config.Ias <= 48 ? 4 : 5;
        if (levels < 3 || levels > 5) throw new ArgumentException($"VT-d second level: {levels} levels is not 3, 4 or 5");
        config.Levels = levels;
        config.Ias = Math.Min(config.Ias, 12 + 9 * levels);
        config.Oas = Math.Min(config.Oas, 52);
        config.PgsizeBitmap &= 1UL << 12 | 1UL << 21 | 1UL << 30;
        if ((config.PgsizeBitmap & 1UL << 12) == 0) throw new ArgumentException("VT-d second level: 4K pages are mandatory");
        return new IntelSlPte(levels, (config.Quirks & IoPgtableQuirks.IntelForceSnoop) != 0);
    }
}
