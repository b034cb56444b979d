using DmaLab.Mm;

namespace DmaLab.Iommu.PageTables;

/// <summary>
/// Constructs page tables by format (Linux: alloc_io_pgtable_ops() and io_pgtable_init_table[]).
/// The format narrows <see cref="IoPgtableConfig.PgsizeBitmap"/> and fills the register values.
/// Throws <see cref="ArgumentException"/> for a configuration the format cannot do (a DmaLab configuration error).
/// </summary>
public static class IoPgtableRegistry
{
    public static IIoPgtable Alloc(IoPgtableFormat format, IoPgtableConfig config, PhysicalMemory memory, IPageAllocator pages)
        => format switch
        {
            IoPgtableFormat.ArmLpaeS1 => new IoPgtableArmLpae(false, config, memory, pages),
            IoPgtableFormat.ArmLpaeS2 => new IoPgtableArmLpae(true, config, memory, pages),
            IoPgtableFormat.ArmV7s or IoPgtableFormat.Msm => new IoPgtableArmV7s(format, config, memory, pages),
            IoPgtableFormat.IntelSecondLevel => new IoPgtableIntelSecondLevel(config, memory, pages),
            IoPgtableFormat.AmdV1 => new IoPgtableAmdV1(config, memory, pages),
            IoPgtableFormat.Omap or IoPgtableFormat.Exynos or IoPgtableFormat.Tegra or IoPgtableFormat.Rockchip
                => IoPgtableSoc.Alloc(format, config, memory, pages),
            IoPgtableFormat.S390 => new IoPgtableS390(config, memory, pages),
            _ => throw new ArgumentException($"page-table format {format} is not available"),
        };
}
