using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.Platform;

/// <summary>The s390x arch and the zPCI function attributes in platform YAML, and the built-in s390-zpci platform.</summary>
public class ZpciSpecTests
{
    const string Head = """
        name: z
        arch: s390x
        memory:
          - { base: 0x0, size: 4GiB }
        iommus:
          - { name: s390-iommu.00000001, model: S390Iommu }
        devices:

        """;

    static PlatformSpec Load(string devices) => PlatformLoader.Load(new StringReader(Head + devices), "z.yaml");

    [Fact]
    public void BuiltInS390ZpciDescribesTwoFunctions()
    {
        var s = PlatformLoader.LoadBuiltIn("s390-zpci");
        Assert.Equal("s390x", s.Arch);
        Assert.False(s.Kernel.IommuStrict);                   // CONFIG_IOMMU_DEFAULT_DMA_LAZY on S390
        Assert.All(s.Iommus, i => Assert.Equal("S390Iommu", i.Model));
        var nvme = s.Devices.Single(d => d.Kind == "nvme");
        var nic = s.Devices.Single(d => d.Kind == "nic");
        Assert.True(nvme.Zpci!.TlbRefresh);
        Assert.False(nic.Zpci!.TlbRefresh);
        Assert.NotEqual(nvme.Iommu, nic.Iommu);               // one iommu_device per function, as zpci_init_iommu()
        Assert.Equal((ZpciSpec.QemuStartDma, ZpciSpec.QemuEndDma), (nvme.Zpci.StartDma, nvme.Zpci.EndDma));
    }

    [Fact]
    public void ZpciFieldsParse()
    {
        var s = Load("""
              - { name: "0001:00:00.0", bus: pci, iommu: s390-iommu.00000001, zpci: { fid: 0x10, fh: 0x800010, startDma: 0x200000000, endDma: 0x2ffffffff, tlbRefresh: true, ism: true } }
            """);
        var z = s.Devices[0].Zpci!;
        Assert.Equal((0x10u, 0x800010u, 0x2_0000_0000UL, 0x2_ffff_ffffUL, true, true), (z.Fid, z.Fh, z.StartDma, z.EndDma, z.TlbRefresh, z.Ism));
    }

    [Theory]
    [InlineData("""  - { name: a, bus: platform, iommu: s390-iommu.00000001, streamIds: [ 1 ], zpci: { tlbRefresh: true } }""",
        "z.yaml:8:77: devices[0].zpci: zPCI attributes belong to PCI functions (bus: pci)")]
    [InlineData("""  - { name: "0001:00:00.0", bus: pci, zpci: { fid: 1 } }""",
        "z.yaml:8:39: devices[0].zpci: zPCI attributes need the device behind an S390Iommu IOMMU (iommu: '')")]
    public void MisplacedZpciAttributesNameFileLineAndField(string device, string message)
    {
        var e = Assert.Throws<PlatformSpecException>(() => Load(device));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void BadZpciValueNamesTheLine()
    {
        var e = Assert.Throws<PlatformSpecException>(() => Load("""
              - name: "0001:00:00.0"
                bus: pci
                iommu: s390-iommu.00000001
                zpci:
                  tlbRefresh: maybe
            """));
        Assert.StartsWith("z.yaml:12:", e.Message);
    }

    [Fact]
    public void S390xZonesSplitAtTwoGiBWithoutDma32()
    {
        var mem = new MemorySystem(PlatformLoader.LoadBuiltIn("s390-zpci"));
        Assert.Equal(new PhysAddr(1UL << 31), mem.Layout.End(ZoneType.Dma));   // MAX_DMA_ADDRESS
        Assert.Equal(new PhysAddr(8UL << 30), mem.Layout.End(ZoneType.Normal));
        Assert.False(mem.Layout.Configured(ZoneType.Dma32));
        Assert.True(mem.Layout.Configured(ZoneType.Dma));
    }
}
