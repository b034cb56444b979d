using DmaLab.Platform.Dtb;

namespace DmaLab.Tests.Platform.Dtb;

/// <summary>Documentation/devicetree/bindings/virtio/iommu.yaml: a virtio-iommu PCI function under the host bridge,
/// which points its requester IDs at it with iommu-map.</summary>
public class DtbVirtioIommuTests
{
    [Fact]
    public void A_virtio_pci_iommu_and_the_host_bridges_iommu_map_import()
    {
        var f = new FdtBuilder();
        f.Begin("").Cells("#address-cells", 2).Cells("#size-cells", 2)
            .Begin("pcie@10000000").Str("compatible", "pci-host-ecam-generic").Str("device_type", "pci")
                .Cells("#address-cells", 3).Cells("#size-cells", 2).Cells("reg", 0, 0x1000_0000, 0, 0x1000_0000)
                // RIDs 0x0-0x7 → the IOMMU's own endpoint range is left out; 0x9-0xffff → endpoints 0x9-0xffff.
                .Cells("iommu-map", 0x0, 1, 0x0, 0x8, 0x9, 1, 0x9, 0xfff7)
                .Begin("iommu@0,1").Str("compatible", "virtio,pci-iommu").Cells("reg", 0x800, 0, 0, 0, 0)
                    .Cells("#iommu-cells", 1).Cells("phandle", 1).End()
            .End()
        .End();
        var imp = DtbImporter.Import(f.Build());
        var iommu = Assert.Single(imp.Report.Iommus);
        Assert.Equal("VirtioIommu", iommu.Driver);
        Assert.Equal(1, iommu.Cells);
        Assert.Equal("VirtioIommu", imp.Platform.Iommus.Single().Model);
        var host = imp.Platform.Devices.Single(d => d.IommuMap.Count > 0);
        Assert.True(OfMapId.TryMap(host, 0x20, out _, out uint ep));
        Assert.Equal(0x20u, ep);
    }
}
