using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.DmaIommu;

/// <summary>Machine boot and arch_setup_dma_ops choices on the built-in and imported platforms, and a full-stack
/// map → device transfer → unmap through iommu-dma.</summary>
public class MachineTests
{
    static string DtbPath(string name) => Path.Combine(AppContext.BaseDirectory, "data", "dtb", name);

    [Theory]
    [InlineData("arm64-ref")]
    [InlineData("x86-q35")]
    [InlineData("s390-zpci")]
    public void BuiltInBootsWithIommuDmaForTranslatedDevices(string name)
    {
        var m = Machine.Boot(PlatformLoader.LoadBuiltIn(name));
        Assert.Equal(m.Devices.Count, m.Setup.Count);
        foreach (var dev in m.Devices)
        {
            var s = m.SetupOf(dev);
            Assert.Equal(dev.Spec.Iommu is null ? "dma-direct" : "iommu-dma", s.Ops);
            Assert.Same(s.Ops == "iommu-dma" ? m.IommuDma : m.DmaSystem.Direct, dev.DmaOps);
            Assert.False(string.IsNullOrEmpty(s.Reason));
        }
    }

    [Fact]
    public void MapPageWritesPageTablesTheDeviceTranslatesThrough()
    {
        var m = Machine.Boot(PlatformLoader.LoadBuiltIn("x86-q35"));
        var nvme = m.Device("0000:00:04.0");
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out var page));
        var buf = page + 0x100;
        var dma = m.Dma.MapPage(0, nvme, buf, 512, DmaDirection.FromDevice);
        Assert.False(m.Dma.MappingError(nvme, dma));
        // top-down below 4 GiB (PCI 32-bit first), granule offset kept
        Assert.Equal(0xffff_f100UL, dma.Value);
        var payload = Enumerable.Range(0, 512).Select(i => (byte)i).ToArray();
        Assert.Equal(DmaStatus.Ok, m.Engine(nvme).Write(dma, payload).Status);
        var back = new byte[512];
        m.Memory.Memory.Read(buf, back);
        Assert.Equal(payload, back);
        m.Dma.UnmapPage(0, nvme, dma, 512, DmaDirection.FromDevice);
        // strict: the translation is gone and the IOVA is handed out again at once
        Assert.Equal(DmaStatus.IommuFault, m.Engine(nvme).Write(dma, payload).Status);
        Assert.Equal(dma.Value, m.Dma.MapPage(0, nvme, buf, 512, DmaDirection.FromDevice).Value);
        Assert.DoesNotContain(m.Findings, f => f.Kind != "iommu-fault");
    }

    [Fact]
    public void PassthroughAndSwiotlbForceKeepEveryoneOnDmaDirect()
    {
        var m = Machine.Boot(PlatformLoader.LoadBuiltIn("x86-q35"), new MachineOptions { Policy = IommuPolicy.Passthrough, SwiotlbForce = true });
        Assert.All(m.Setup, s => Assert.Equal("dma-direct", s.Ops));
        var nvme = m.Device("0000:00:04.0");
        Assert.Contains("identity", m.SetupOf(nvme).Reason);
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out var page));
        var dma = m.Dma.MapPage(0, nvme, page, 4096, DmaDirection.ToDevice);
        Assert.True(m.DmaSystem.Swiotlb!.IsSwiotlbBuffer(new PhysAddr(dma.Value)));
    }

    [Theory]
    [InlineData("arm64_qcom_sm8250-hdk.dtb")]
    [InlineData("arm64_arm_juno-r2.dtb")]
    [InlineData("arm64_rockchip_rk3399-rockpro64.dtb")]
    [InlineData("arm64_xilinx_zynqmp-zcu102-rev1.0.dtb")]
    [InlineData("arm64_freescale_fsl-ls1046a-rdb.dtb")]
    [InlineData("arm64_qcom_msm8916-mtp.dtb")]
    [InlineData("arm64_nvidia_tegra210-p2371-2180.dtb")]
    [InlineData("arm64_allwinner_sun50i-h6-pine-h64.dtb")]
    [InlineData("arm64_renesas_r8a774a1-hihope-rzg2m.dtb")]
    [InlineData("armhf_dra7-evm.dtb")]
    [InlineData("armhf_exynos4412-odroidu3.dtb")]
    [InlineData("armhf_omap4-panda.dtb")]
    [InlineData("armhf_rk3288-firefly.dtb")]
    public void ImportedDeviceTreesBootWithLiveIommus(string file)
    {
        using var f = File.OpenRead(DtbPath(file));
        var spec = DtbPlatform.Load(f, file);
        var m = Machine.Boot(spec);
        Assert.Equal(m.Devices.Count, m.Setup.Count);
        foreach (var dev in m.Devices)
        {
            Assert.NotNull(dev.DmaOps);
            var s = m.SetupOf(dev);
            var inst = dev.Spec.Iommu is null ? null : m.Iommu.Core.FindInstance(dev.Spec.Iommu);
            if (inst is null) Assert.Equal("dma-direct", s.Ops);
            if (s.Ops is "iommu-dma" or "arm-iommu")
            {
                // a translated master maps through its own domain and the engine reaches the buffer
                // below 4 GiB: several of these IOMMUs output 32-bit physical addresses (oas 32)
                // (32-bit ARM has no ZONE_DMA32: its lowmem is already below 4 GiB)
                Assert.True(m.Memory.PageAllocator.TryAllocPages(0, s.Ops == "arm-iommu" ? Gfp.Kernel : Gfp.Kernel | Gfp.Dma32, out var page));
                var dma = m.Dma.MapPage(0, dev, page, 4096, DmaDirection.Bidirectional);
                Assert.False(m.Dma.MappingError(dev, dma), $"{file}: {dev.Name} map failed: {string.Join("; ", m.Findings.Select(x => x.Message))}");
                // every driver keeps its tables where its walker reaches them (sun50i/MSM: GFP_DMA32 / v7s tables),
                // so the device's access translates and iova_to_phys gives the page back
                Assert.Equal(DmaStatus.Ok, m.Engine(dev).Write(dma, new byte[64]).Status);
                var domain = m.Iommu.Core.GetDomain(dev)!;
                Assert.Equal(page.Value, IommuCore.IovaToPhys(domain, dma.Value));
                if (domain.Pgtable is { } pt)
                    Assert.True(pt.Root.Value < 1UL << pt.Config.Oas, $"{file}: {dev.Name} root table {pt.Root} beyond oas {pt.Config.Oas}");
                m.Dma.UnmapPage(0, dev, dma, 4096, DmaDirection.Bidirectional);
            }
        }
        // SM8250 (mmu-500) and Juno (mmu-401) have enabled SMMUs with masters: those masters are translated.
        if (file.Contains("sm8250") || file.Contains("juno"))
            Assert.Contains(m.Setup, s => s.Ops == "iommu-dma");
    }
    /// <summary>
    /// msm8916-mtp leaves DRAM to the bootloader and the model assumes 4 GiB at 0x80000000: iommu-dma takes
    /// coherent pages from any zone (dma-iommu.c __iommu_dma_alloc_pages() adds __GFP_HIGHMEM), pages above 4 GiB
    /// are beyond the MSM IOMMU's 32-bit output, and v7s map WARNs and fails with -ERANGE. The driver's NULL must
    /// come with both warnings, never silently.
    /// </summary>
    [Fact]
    public void MsmCoherentAllocationBeyondOasIsReported()
    {
        const string file = "arm64_qcom_msm8916-mtp.dtb";
        using var f = File.OpenRead(DtbPath(file));
        var m = Machine.Boot(DtbPlatform.Load(f, file));
        var dev = m.Devices.First(d => m.SetupOf(d).Ops == "iommu-dma");
        var cpu = m.Dma.AllocCoherent(0, dev, 64 * 1024, out var dma, Gfp.Kernel);
        if (cpu.IsNull)
        {
            Assert.Contains(m.Findings, x => x.Kind == "dma-alloc-failed" && x.Device == dev.Name);
            Assert.Contains(m.Findings, x => x.Kind == "iommu-map-out-of-range");
        }
        else
        {
            Assert.DoesNotContain(m.Findings, x => x.Kind == "dma-alloc-failed");
            Assert.Equal(DmaStatus.Ok, m.Engine(dev).Write(dma, new byte[64]).Status);
        }
    }
}
