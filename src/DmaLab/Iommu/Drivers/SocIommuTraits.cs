using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>How many translation contexts a SoC IOMMU has and what happens when a second domain arrives.</summary>
public enum SocContextModel
{
    /// <summary>One context per instance and a paging domain serves a single master: attaching it to a second master is -EINVAL (OMAP: "iommu domain is already attached").</summary>
    SingleExclusive,
    /// <summary>One context per instance; attaching another domain replaces the current one (Exynos, Rockchip, Sun50i).</summary>
    SingleReplace,
    /// <summary>A pool of contexts/ASIDs; exhausted is the driver's error (<see cref="SocIommuTraits.PoolExhaustedErrno"/>).</summary>
    Pool,
}

/// <summary>How a SoC driver forms groups (its ops->device_group).</summary>
public enum SocGroupModel
{
    /// <summary>All masters of one instance share its group (omap_iommu_device_group, rk_iommu_device_group, sun50i, ipmmu_find_group).</summary>
    PerInstance,
    /// <summary>generic_device_group(): one group per master.</summary>
    Generic,
    /// <summary>Masters sharing a firmware ID (Tegra swgroup) share a group.</summary>
    SharedIds,
}

/// <summary>The facts a SoC IOMMU driver declares; each driver file says where its numbers come from.</summary>
/// <param name="InvalidateOnUnmap">TLB entries are invalidated inside unmap (no deferred flush possible).</param>
/// <param name="ReportsFaults">The interrupt handler calls report_iommu_fault().</param>
/// <param name="FaultFlagsZero">report_iommu_fault() is called with flags 0 regardless of direction.</param>
/// <param name="TableGfp">Zone flags the driver uses for its table pages (e.g. GFP_DMA32 for a 32-bit walker).</param>
public sealed record SocIommuTraits(
    string DriverName,
    IoPgtableFormat Format,
    DriverLimits Limits,
    SocContextModel Contexts,
    SocGroupModel Groups,
    bool InvalidateOnUnmap,
    bool ReportsFaults,
    bool FaultFlagsZero = false,
    int PoolExhaustedErrno = -Errno.ENOSPC,
    bool Identity = true,
    Mm.Gfp TableGfp = Mm.Gfp.None);
