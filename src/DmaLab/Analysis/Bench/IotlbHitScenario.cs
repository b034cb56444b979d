using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Analysis.Bench;

/// <summary>
/// A device read translated by the SMMUv3 translation unit with the entry already in its IOTLB (the hardware side of
/// the model: stream lookup, TLB lookup, no walk).
/// </summary>
internal sealed class IotlbHitScenario : BenchScenario
{
    const ulong Iova = 0x1000_0000;
    BenchIommuMachine _m = null!;
    ulong _expect;

    public override string Name => "iotlb-translate-hit";
    public override string Description => "device read translated by an IOTLB hit, SMMUv3";

    public override void Boot(ulong seed)
    {
        _m = new BenchIommuMachine(smmuV2: false, seed);
        if (_m.Core.Map(_m.Domain, Iova, _m.Buffer.Value, PhysAddr.PageSize, IommuProt.Read | IommuProt.Write) != 0)
            throw new InvalidOperationException("bench iommu_map failed at boot");
        _expect = _m.Buffer.Value + 0x10;
        // First translation walks the tables and fills the IOTLB.
        if (!_m.Unit.Translate(_m.Port, Iova + 0x10, false, out ulong pa) || pa != _expect)
            throw new InvalidOperationException("bench translation did not reach the mapped page");
    }

    public override long Run(int ops)
    {
        long ok = 0;
        var unit = _m.Unit;
        int port = _m.Port;
        ulong expect = _expect;
        for (int i = 0; i < ops; i++)
            if (unit.Translate(port, Iova + 0x10, false, out ulong pa) && pa == expect) ok++;
        return ok;
    }

    public override long ModelCount => _m.Unit.Iotlb.Stats.Hits;
}
