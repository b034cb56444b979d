using DmaLab.Platform.Dtb;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Platform.Dtb;

/// <summary>Golden tests on the 13 real trees: providers, their drivers, masters and their IDs per provider.</summary>
public class DtbSampleTests
{
    public static TheoryData<string> Samples() => new(DtbGolden.Trees.Keys.Order(StringComparer.Ordinal));

    static DtbImport Import(string file) => DtbImporter.Import(DtbSamples.Load(file), file);

    /// <summary>Independent table: first compatible of each sample provider → our driver model.</summary>
    static readonly Dictionary<string, string> Driver = new()
    {
        ["allwinner,sun50i-h6-iommu"] = "Sun50i", ["arm,mmu-400"] = "ArmSmmu", ["arm,mmu-401"] = "ArmSmmu",
        ["arm,mmu-500"] = "ArmSmmu", ["nvidia,tegra210-mc"] = "Tegra", ["qcom,msm8916-iommu"] = "Msm",
        ["qcom,sm8250-smmu-500"] = "ArmSmmu", ["renesas,ipmmu-r8a774a1"] = "Ipmmu", ["rockchip,iommu"] = "Rockchip",
        ["samsung,exynos-sysmmu"] = "Exynos", ["ti,dra7-dsp-iommu"] = "Omap", ["ti,dra7-iommu"] = "Omap",
        ["ti,omap4-iommu"] = "Omap",
    };

    [Theory]
    [InlineData("arm64_allwinner_sun50i-h6-pine-h64.dtb", 1, 3)]
    [InlineData("arm64_arm_juno-r2.dtb", 7, 6)]
    [InlineData("arm64_freescale_fsl-ls1046a-rdb.dtb", 0, 0)]
    [InlineData("arm64_nvidia_tegra210-p2371-2180.dtb", 1, 5)]
    [InlineData("arm64_qcom_msm8916-mtp.dtb", 2, 4)]
    [InlineData("arm64_qcom_sm8250-hdk.dtb", 2, 33)]
    [InlineData("arm64_renesas_r8a774a1-hihope-rzg2m.dtb", 9, 10)]
    [InlineData("arm64_rockchip_rk3399-rockpro64.dtb", 7, 6)]
    [InlineData("arm64_xilinx_zynqmp-zcu102-rev1.0.dtb", 1, 28)]
    [InlineData("armhf_dra7-evm.dtb", 6, 4)]
    [InlineData("armhf_exynos4412-odroidu3.dtb", 17, 13)]
    [InlineData("armhf_omap4-panda.dtb", 2, 2)]
    [InlineData("armhf_rk3288-firefly.dtb", 6, 3)]
    public void ProviderAndMasterCountsMatchTheTree(string file, int providers, int iommusMasters)
    {
        var r = Import(file).Report;
        Assert.Equal(providers, r.Iommus.Count);
        Assert.Equal(iommusMasters, r.Masters.Count(m => m.IommuRefs.Count > 0));
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void ProvidersMatchDtc(string file)
    {
        var golden = DtbGolden.Trees[file];
        var imp = Import(file);
        Assert.Equal(golden.Providers.Select(p => p.Path), imp.Report.Iommus.Select(i => i.Path));
        foreach (var (g, got) in golden.Providers.Zip(imp.Report.Iommus))
        {
            Assert.Equal(g.Cells, got.Cells);
            Assert.Equal(Driver[g.FirstCompatible], got.Driver);
            var node = imp.Tree.FindByPath(g.Path)!;
            Assert.Contains(got.Compatible, node.Compatible);
            Assert.Equal(node.IsAvailable, got.Enabled);
        }
        // The platform spec carries the same instances, each named once.
        Assert.Equal(imp.Report.Iommus.Select(i => i.Path), imp.Platform.Iommus.Select(i => i.Path));
        Assert.Equal(imp.Platform.Iommus.Count, imp.Platform.Iommus.Select(i => i.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void MastersAndIdsPerProviderMatchDtc(string file)
    {
        var golden = DtbGolden.Trees[file];
        var imp = Import(file);
        var masters = imp.Report.Masters.Where(m => m.IommuRefs.Count > 0).ToList();
        Assert.Equal(golden.Masters.Select(m => m.Path), masters.Select(m => m.Path));
        foreach (var (g, got) in golden.Masters.Zip(masters))
        {
            // Group the raw entries per provider, in first-seen order, decoding as each binding means them.
            var expected = new List<(string Provider, List<uint> Ids)>();
            foreach (var e in g.Refs)
            {
                string driver = Driver[golden.Providers.Single(p => p.Path == e.Provider).FirstCompatible];
                var ids = e.Args.Length == 0 ? new List<uint>()
                    : driver == "ArmSmmu" ? [e.Args[0] | (e.Args.Length > 1 ? e.Args[1] << 16 : 0u)]
                    : new List<uint> { e.Args[0] };
                int at = expected.FindIndex(x => x.Provider == e.Provider);
                if (at >= 0) expected[at].Ids.AddRange(ids); else expected.Add((e.Provider, ids));
            }
            Assert.Equal(expected.Select(x => x.Provider), got.IommuRefs.Select(x => x.Iommu));
            Assert.Equal(expected.SelectMany(x => x.Ids), got.IommuRefs.SelectMany(x => x.Ids));
            Assert.Equal(expected[0].Provider, got.Iommu);
            Assert.Equal(expected[0].Ids, got.Ids);
            var dev = imp.Platform.Devices.Single(d => d.Path == g.Path);
            Assert.Equal(imp.Platform.Iommus.Single(i => i.Path == expected[0].Provider).Name, dev.Iommu);
            Assert.Equal(expected.Count - 1, dev.ExtraIommus.Count);
        }
    }

    [Fact]
    public void Ls1046aInventsNoIommu()
    {
        var imp = Import("arm64_freescale_fsl-ls1046a-rdb.dtb");
        Assert.Empty(imp.Platform.Iommus);
        Assert.DoesNotContain(imp.Platform.Devices, d => d.Iommu is not null);
        // Its qman/bman pools are dynamic shared-dma-pools: size and alignment, no base.
        var fbpr = imp.Platform.ReservedMemory.Single(r => r.Name == "/reserved-memory/bman-fbpr");
        Assert.Null(fbpr.Base);
        Assert.Equal(0x1000000UL, fbpr.Size);
        Assert.Equal(0x1000000UL, fbpr.Alignment);
        Assert.True(fbpr.NoMap);
        Assert.Equal("shared-dma-pool", fbpr.Compatible);
    }

    [Fact]
    public void JunoSmmusAndPcieAreCoherentAndPcieMapsEveryRidToStream0()
    {
        var imp = Import("arm64_arm_juno-r2.dtb");
        var pcie = imp.Report.Masters.Single(m => m.Path == "/pcie@40000000");
        Assert.True(pcie.Coherent);
        Assert.Equal(0u, pcie.IommuMapMask);
        var e = Assert.Single(pcie.IommuMap);
        Assert.Equal((0u, "/iommu@2b500000", 0u, 1u), (e.RidBase, e.Iommu, e.IommuBase, e.Length));
        Assert.Equal("/iommu@2b500000", pcie.Iommu);
        // dma-ranges on the PCI host: 2 GiB at 0x80000000 and 8 GiB at 0x8_0000_0000, both 1:1.
        Assert.Equal(new[] { new DmaRange(0x80000000, 0x80000000, 0x80000000), new DmaRange(0x8_0000_0000, 0x8_0000_0000, 0x2_0000_0000) }, pcie.DmaRanges);
        Assert.Equal(0x9_ffff_ffffUL, pcie.BusDmaLimit);
        Assert.Equal(32, pcie.Mask);
        // dma-coherent sits on the PCIe SMMU and the GPU SMMU, not on the HDLCD ones.
        var walk = imp.Platform.Iommus.ToDictionary(i => i.Path!, i => i.CoherentWalk);
        Assert.True(walk["/iommu@2b500000"]);
        Assert.False(walk["/iommu@7fb10000"]);
        Assert.False(imp.Report.Masters.Single(m => m.Path == "/hdlcd@7ff50000").Coherent);
        Assert.Equal("7ff50000.hdlcd", imp.Report.Masters.Single(m => m.Path == "/hdlcd@7ff50000").Name);
    }

    [Fact]
    public void Dra7DmaRangesOnOcpLimitMastersBelowItAndPoolsAreCma()
    {
        var imp = Import("armhf_dra7-evm.dtb");
        Assert.Equal("arm", imp.Platform.Arch);
        // /ocp: dma-ranges = <0x80000000 0 0x80000000 0x80000000>: bus 0x80000000.. → CPU 0x80000000, 2 GiB.
        foreach (var m in imp.Report.Masters.Where(m => m.Path.StartsWith("/ocp/", StringComparison.Ordinal)))
        {
            Assert.Equal(new[] { new DmaRange(0x80000000, 0x80000000, 0x80000000) }, m.DmaRanges);
            Assert.Equal(0xffff_ffffUL, m.BusDmaLimit);
            Assert.Equal(32, m.Mask);
        }
        var ipu2 = imp.Platform.ReservedMemory.Single(r => r.Name == "/reserved-memory/ipu2-memory@95800000");
        Assert.Equal((0x95800000UL, 0x3800000UL, true, "shared-dma-pool"), (ipu2.Base!.Value, ipu2.Size, ipu2.Reusable, ipu2.Compatible));
        Assert.NotEmpty(ipu2.Devices);
    }

    [Fact]
    public void Sm8250ReservedMemoryAndMemory()
    {
        var imp = Import("arm64_qcom_sm8250-hdk.dtb");
        var r = imp.Platform.ReservedMemory.Single(x => x.Name == "/reserved-memory/memory@80000000");
        Assert.Equal((0x80000000UL, 0x600000UL, true), (r.Base!.Value, r.Size, r.NoMap));
        // The bootloader fills in the size of /memory@80000000 (reg size 0): no DRAM range is invented.
        Assert.Empty(imp.Platform.Memory);
        Assert.All(imp.Platform.Devices.Where(d => d.Iommu is not null), d => Assert.True(d.StreamIds.Count > 0 || d.IommuMap.Count > 0, d.Path));
    }

    [Fact]
    public void JunoMemoryUsesRootCells()
    {
        var mem = Import("arm64_arm_juno-r2.dtb").Platform.Memory;
        Assert.Equal(new[] { (0x80000000UL, 0x7f000000UL), (0x8_8000_0000UL, 0x1_8000_0000UL) }, mem.Select(m => (m.Base, m.Size)));
    }

    [Fact]
    public void NamesFollowLinuxBusIds()
    {
        var imp = Import("armhf_omap4-panda.dtb");
        foreach (var i in imp.Report.Iommus)
            Assert.Matches("^[0-9a-f]+\\.mmu$", i.Name);
    }

    [Fact]
    public void ReportJsonIsDeterministicAndCamelCase()
    {
        var a = DtbReportJson.Serialize(Import("arm64_qcom_msm8916-mtp.dtb").Report, "x.dtb");
        var b = DtbReportJson.Serialize(Import("arm64_qcom_msm8916-mtp.dtb").Report, "x.dtb");
        Assert.Equal(a, b);
        using var doc = System.Text.Json.JsonDocument.Parse(a);
        var root = doc.RootElement;
        Assert.Equal("x.dtb", root.GetProperty("file").GetString());
        Assert.Equal(2, root.GetProperty("iommus").GetArrayLength());
        var m = root.GetProperty("masters")[0];
        foreach (var f in new[] { "path", "iommu", "ids", "coherent", "dmaRanges", "mask", "enabled" })
            Assert.True(m.TryGetProperty(f, out _), f);
        foreach (var f in new[] { "path", "compatible", "driver", "cells", "enabled" })
            Assert.True(root.GetProperty("iommus")[0].TryGetProperty(f, out _), f);
        Assert.Equal(System.Text.Json.JsonValueKind.Array, root.GetProperty("reservedMemory").ValueKind);
    }
}
