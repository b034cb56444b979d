using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// Qualcomm MSM IOMMU v0/v1 (Linux: drivers/iommu/msm_iommu.c): ARMv7 short-descriptor tables through io-pgtable
/// (msm_iommu_domain_config(): ARM_V7S, ias/oas 32), a small pool of context banks per instance ("qcom,ncb";
/// msm_iommu_alloc_ctx() → -ENOSPC), one group per master (generic_device_group), TLBIVA per granule on iotlb_sync
/// and TLBIALL on flush_iotlb_all; the fault handler only prints registers (no report_iommu_fault()).
/// </summary>
public sealed class MsmIommu(IommuDevice instance, IommuDriverContext context) : SocIommuBase(instance, context, Traits)
{
    /// <summary>MSM_IOMMU_PGSIZES = 4K|64K|1M|16M; 4 context banks (apq8064 DT qcom,ncb = 2..4); TLB size unpublished — 64 entries 4-way, an approximation.</summary>
    public static new readonly SocIommuTraits Traits = new("msm_iommu", IoPgtableFormat.Msm,
        new DriverLimits(0x0111_1000, 32, 32, 4, new IotlbGeometry(64, 4, IotlbReplacement.Lru, 0, "not published; approximation"),
            "msm_iommu.c MSM_IOMMU_PGSIZES, qcom,ncb"),
        SocContextModel.Pool, SocGroupModel.Generic, InvalidateOnUnmap: false, ReportsFaults: false);
}
