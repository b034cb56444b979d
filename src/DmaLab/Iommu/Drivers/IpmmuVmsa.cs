using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// Renesas IPMMU-VMSA (Linux: drivers/iommu/ipmmu-vmsa.c). APPROXIMATED: uses io-pgtable ARM_32_LPAE_S1 (ias 32,
/// oas 40), which the model provides as ArmLpaeS1 with a 32-bit input; contexts from a fixed pool (R-Car Gen3:
/// 8; ipmmu_domain_allocate_context() returns -EBUSY when full); all masters of an instance share a group;
/// iotlb_sync flushes the whole context TLB; faults are reported with flags 0.
/// </summary>
public sealed class IpmmuVmsa(IommuDevice instance, IommuDriverContext context) : SocIommuBase(instance, context, Traits)
{
    public static new readonly SocIommuTraits Traits = new("ipmmu-vmsa", IoPgtableFormat.ArmLpaeS1,
        new DriverLimits(0x4020_1000, 32, 40, 8, new IotlbGeometry(128, 4, IotlbReplacement.Lru, 0, "not published; approximation"),
            "ipmmu-vmsa.c SZ_1G|SZ_2M|SZ_4K, R-Car Gen3 number_of_contexts 8"),
        SocContextModel.Pool, SocGroupModel.PerInstance, InvalidateOnUnmap: false, ReportsFaults: true, FaultFlagsZero: true, PoolExhaustedErrno: -Errno.EBUSY, Identity: false);

    /// <summary>Linux: ipmmu_iotlb_sync() → ipmmu_flush_iotlb_all(): the whole context, not the range.</summary>
    public override void InvalidateRange(IommuDomain d, ulong iova, ulong size, ulong granule, bool leaf) => InvalidateDomain(d);
}
