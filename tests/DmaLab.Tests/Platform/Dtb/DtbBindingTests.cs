using DmaLab.Platform.Dtb;

namespace DmaLab.Tests.Platform.Dtb;

/// <summary>Binding rules on small hand-built trees: legacy mmu-masters, iommu-map, stream-match-mask, status.</summary>
public class DtbBindingTests
{
    [Fact]
    public void LegacyMmuMastersBindingGivesMastersTheirStreamIds()
    {
        var f = new FdtBuilder();
        f.Begin("").Cells("#address-cells", 1).Cells("#size-cells", 1)
            .Begin("smmu@1000").Str("compatible", "arm,mmu-401", "arm,smmu-v1").Cells("reg", 0x1000, 0x1000)
                .Cells("mmu-masters", 1, 0x10, 0x11, 2, 0x20).End()
            .Begin("dma@2000").Cells("reg", 0x2000, 0x100).Cells("#stream-id-cells", 2).Cells("phandle", 1).End()
            .Begin("eth@3000").Cells("reg", 0x3000, 0x100).Cells("#stream-id-cells", 1).Cells("phandle", 2).End()
        .End();
        var imp = DtbImporter.Import(f.Build());
        var smmu = Assert.Single(imp.Report.Iommus);
        Assert.Equal(("ArmSmmu", 0), (smmu.Driver, smmu.Cells));
        Assert.Equal(new uint[] { 0x10, 0x11 }, imp.Report.Masters.Single(m => m.Path == "/dma@2000").Ids);
        Assert.Equal(new uint[] { 0x20 }, imp.Report.Masters.Single(m => m.Path == "/eth@3000").Ids);
        Assert.All(imp.Report.Masters, m => Assert.Equal("/smmu@1000", m.Iommu));
    }

    [Fact]
    public void StreamMatchMaskAppliesToOneCellEntries()
    {
        var f = new FdtBuilder();
        f.Begin("").Cells("#address-cells", 1).Cells("#size-cells", 1)
            .Begin("smmu@1000").Str("compatible", "qcom,sdm845-smmu-500", "arm,mmu-500").Cells("reg", 0x1000, 0x1000)
                .Cells("#iommu-cells", 1).Cells("stream-match-mask", 0x7c00).Cells("phandle", 1).End()
            .Begin("ufs@2000").Cells("reg", 0x2000, 0x100).Cells("iommus", 1, 0x100).End()
        .End();
        var imp = DtbImporter.Import(f.Build());
        Assert.Equal("ArmSmmu", imp.Report.Iommus.Single().Driver);
        Assert.Equal(new uint[] { 0x7c00_0100 }, imp.Report.Masters.Single().Ids);
    }

    [Fact]
    public void IommuMapTranslatesRequesterIdsLikeOfMapId()
    {
        var f = new FdtBuilder();
        f.Begin("").Cells("#address-cells", 2).Cells("#size-cells", 2)
            .Begin("iommu@1000").Str("compatible", "arm,smmu-v3").Cells("reg", 0, 0x1000, 0, 0x1000).Cells("#iommu-cells", 1)
                .Cells("phandle", 1).End()
            .Begin("pcie@40000000").Str("device_type", "pci").Cells("#address-cells", 3).Cells("#size-cells", 2)
                .Cells("reg", 0, 0x4000_0000, 0, 0x1000)
                .Cells("iommu-map", 0x0, 1, 0x1000, 0x100, 0x200, 1, 0x5000, 0x10).Cells("iommu-map-mask", 0xfff8).End()
        .End();
        var imp = DtbImporter.Import(f.Build());
        Assert.Equal("ArmSmmuV3", imp.Report.Iommus.Single().Driver);
        var host = imp.Platform.Devices.Single();
        Assert.Equal(2, host.IommuMap.Count);
        Assert.True(OfMapId.TryMap(host, 0x0a, out var iommu, out uint id));
        Assert.Equal(("1000.iommu", 0x1008u), (iommu, id)); // 0x0a & 0xfff8 = 8
        Assert.True(OfMapId.TryMap(host, 0x20f, out _, out id));
        Assert.Equal(0x5008u, id);
        Assert.False(OfMapId.TryMap(host, 0x300, out _, out id)); // no window: bypass
        Assert.Equal(0x300u, id);
    }

    [Fact]
    public void DisabledNodesAreImportedButMarked()
    {
        var f = new FdtBuilder();
        f.Begin("").Cells("#address-cells", 1).Cells("#size-cells", 1)
            .Begin("iommu@1000").Str("compatible", "rockchip,iommu").Cells("reg", 0x1000, 0x100).Cells("#iommu-cells", 0)
                .Str("status", "disabled").Cells("phandle", 1).End()
            .Begin("vop@2000").Cells("reg", 0x2000, 0x100).Cells("iommus", 1).Str("status", "okay").End()
        .End();
        var imp = DtbImporter.Import(f.Build());
        Assert.False(imp.Platform.Iommus.Single().Enabled);
        var vop = imp.Platform.Devices.Single();
        Assert.True(vop.Enabled);
        Assert.Empty(vop.StreamIds);
        Assert.Equal("1000.iommu", vop.Iommu);
    }

    [Fact]
    public void AbsentDmaRangesInTheChainMeansNoTranslation()
    {
        // dev has dma-ranges-less parent /bus, whose parent has dma-ranges: of_dma_get_range() stops at /bus.
        var f = new FdtBuilder();
        f.Begin("").Cells("#address-cells", 1).Cells("#size-cells", 1)
            .Begin("iommu@1000").Str("compatible", "arm,smmu-v3").Cells("reg", 0x1000, 0x100).Cells("#iommu-cells", 1).Cells("phandle", 1).End()
            .Begin("outer").Cells("#address-cells", 1).Cells("#size-cells", 1).Flag("ranges").Cells("dma-ranges", 0, 0x1000_0000, 0x1000_0000)
                .Begin("bus").Cells("#address-cells", 1).Cells("#size-cells", 1).Flag("ranges")
                    .Begin("dev@0").Cells("reg", 0, 4).Cells("iommus", 1, 3).End()
                .End()
                .Begin("bus2").Cells("#address-cells", 1).Cells("#size-cells", 1).Flag("ranges").Flag("dma-ranges")
                    .Begin("dev@0").Cells("reg", 0, 4).Cells("iommus", 1, 4).End()
                .End()
            .End()
        .End();
        var imp = DtbImporter.Import(f.Build());
        var a = imp.Report.Masters.Single(m => m.Path == "/outer/bus/dev@0");
        Assert.Empty(a.DmaRanges);
        Assert.Equal(0UL, a.BusDmaLimit);
        // An empty dma-ranges passes through to /outer's window: bus 0 → CPU 0x10000000, 256 MiB, 28-bit limit.
        var b = imp.Report.Masters.Single(m => m.Path == "/outer/bus2/dev@0");
        Assert.Equal(new[] { new DmaRange(0, 0x1000_0000, 0x1000_0000) }, b.DmaRanges);
        Assert.Equal(28, b.Mask);
        // Both translate to "0.dev" (of_device_make_bus_id()); the second falls back to its unique path.
        Assert.Equal("0.dev", a.Name);
        Assert.Equal("/outer/bus2/dev@0", b.Name);
    }
}
