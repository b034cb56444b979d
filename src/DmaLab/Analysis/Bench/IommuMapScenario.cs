using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Analysis.Bench;

/// <summary>
/// iommu_map() + iommu_unmap() of 4 KiB through the IOMMU core on an ARM MMU-500 (SMMU v2) with the LPAE stage-1
/// format (Linux: drivers/iommu/iommu.c; io-pgtable-arm.c; arm-smmu.c TLBIVA + TLBSYNC on the strict unmap).
/// </summary>
internal sealed class IommuMapScenario : BenchScenario
{
    const ulong Iova = 0x2000_0000;
    BenchIommuMachine _m = null!;

    public override string Name => "iommu-map-unmap-4k-lpae";
    public override string Description => "iommu_map+iommu_unmap 4 KiB, MMU-500 LPAE S1 (invalidate + sync per unmap)";

    public override void Boot(ulong seed)
    {
        _m = new BenchIommuMachine(smmuV2: true, seed);
        // The first map allocates the table levels under the IOVA; they stay (LPAE unmap frees no tables).
        if (_m.Core.Map(_m.Domain, Iova, _m.Buffer.Value, PhysAddr.PageSize, IommuProt.Read | IommuProt.Write) != 0)
            throw new InvalidOperationException("bench iommu_map failed at boot");
        _m.Core.Unmap(_m.Domain, Iova, PhysAddr.PageSize);
    }

    public override long Run(int ops)
    {
        long ok = 0;
        var core = _m.Core;
        var dom = _m.Domain;
        ulong phys = _m.Buffer.Value;
        for (int i = 0; i < ops; i++)
        {
            if (core.Map(dom, Iova, phys, PhysAddr.PageSize, IommuProt.Read | IommuProt.Write) != 0) continue;
            if (core.Unmap(dom, Iova, PhysAddr.PageSize) == PhysAddr.PageSize) ok++;
        }
        return ok;
    }

    /// <summary>Invalidation operations the SMMU's TLB received (one per strict unmap).</summary>
    public override long ModelCount => _m.Unit.Iotlb.Stats.InvalidationOps;
}
