namespace DmaLab.Tests.Platform.Dtb;

/// <summary>
/// Expected IOMMU providers and masters of the 13 sample trees, established with `dtc -I dtb -O dts` (Debian
/// device-tree-compiler 1.6) and a separate script over its output: provider path, first compatible,
/// #iommu-cells; master path and, per iommus entry, the provider path and the raw argument cells.
/// </summary>
internal static class DtbGolden
{
    public sealed record Provider(string Path, string FirstCompatible, int Cells);
    public sealed record Ref(string Provider, uint[] Args);
    public sealed record Master(string Path, Ref[] Refs);
    public sealed record Tree(Provider[] Providers, Master[] Masters);

    public static readonly Dictionary<string, Tree> Trees = new()
    {
        ["arm64_allwinner_sun50i-h6-pine-h64.dtb"] = new(
            [new("/soc/iommu@30f0000", "allwinner,sun50i-h6-iommu", 1)],
            [
                new("/soc/bus@1000000/mixer@100000", [new("/soc/iommu@30f0000", [0x0])]),
                new("/soc/video-codec-g2@1c00000", [new("/soc/iommu@30f0000", [0x5])]),
                new("/soc/video-codec@1c0e000", [new("/soc/iommu@30f0000", [0x3])])
            ]),
        ["arm64_arm_juno-r2.dtb"] = new(
            [new("/iommu@2b400000", "arm,mmu-400", 1), new("/iommu@2b500000", "arm,mmu-401", 1), new("/iommu@2b600000", "arm,mmu-401", 1), new("/iommu@7fb00000", "arm,mmu-401", 1), new("/iommu@7fb10000", "arm,mmu-401", 1), new("/iommu@7fb20000", "arm,mmu-401", 1), new("/iommu@7fb30000", "arm,mmu-401", 1)],
            [
                new("/etr@20070000", [new("/iommu@2b600000", [0x0])]),
                new("/dma-controller@7ff00000", [new("/iommu@7fb00000", [0x0]), new("/iommu@7fb00000", [0x1]), new("/iommu@7fb00000", [0x2]), new("/iommu@7fb00000", [0x3]), new("/iommu@7fb00000", [0x4]), new("/iommu@7fb00000", [0x5]), new("/iommu@7fb00000", [0x6]), new("/iommu@7fb00000", [0x7]), new("/iommu@7fb00000", [0x8])]),
                new("/hdlcd@7ff50000", [new("/iommu@7fb10000", [0x0])]),
                new("/hdlcd@7ff60000", [new("/iommu@7fb20000", [0x0])]),
                new("/usb@7ffb0000", [new("/iommu@7fb30000", [0x0])]),
                new("/usb@7ffc0000", [new("/iommu@7fb30000", [0x0])])
            ]),
        ["arm64_freescale_fsl-ls1046a-rdb.dtb"] = new(
            [],
            [
                
            ]),
        ["arm64_nvidia_tegra210-p2371-2180.dtb"] = new(
            [new("/memory-controller@70019000", "nvidia,tegra210-mc", 1)],
            [
                new("/host1x@50000000", [new("/memory-controller@70019000", [0x6])]),
                new("/host1x@50000000/dc@54200000", [new("/memory-controller@70019000", [0x1])]),
                new("/host1x@50000000/dc@54240000", [new("/memory-controller@70019000", [0x2])]),
                new("/host1x@50000000/vic@54340000", [new("/memory-controller@70019000", [0x16])]),
                new("/gpu@57000000", [new("/memory-controller@70019000", [0x11])])
            ]),
        ["arm64_qcom_msm8916-mtp.dtb"] = new(
            [new("/soc@0/iommu@1ef0000", "qcom,msm8916-iommu", 1), new("/soc@0/iommu@1f08000", "qcom,msm8916-iommu", 1)],
            [
                new("/soc@0/mdss@1a00000/mdp@1a01000", [new("/soc@0/iommu@1ef0000", [0x4])]),
                new("/soc@0/camss@1b0ac00", [new("/soc@0/iommu@1ef0000", [0x3])]),
                new("/soc@0/gpu@1c00000", [new("/soc@0/iommu@1f08000", [0x1]), new("/soc@0/iommu@1f08000", [0x2])]),
                new("/soc@0/video-codec@1d00000", [new("/soc@0/iommu@1ef0000", [0x5])])
            ]),
        ["arm64_qcom_sm8250-hdk.dtb"] = new(
            [new("/soc@0/iommu@3da0000", "qcom,sm8250-smmu-500", 2), new("/soc@0/iommu@15000000", "qcom,sm8250-smmu-500", 2)],
            [
                new("/soc@0/dma-controller@800000", [new("/soc@0/iommu@15000000", [0x76, 0x0])]),
                new("/soc@0/geniqup@8c0000", [new("/soc@0/iommu@15000000", [0x63, 0x0])]),
                new("/soc@0/dma-controller@900000", [new("/soc@0/iommu@15000000", [0x5b6, 0x0])]),
                new("/soc@0/geniqup@9c0000", [new("/soc@0/iommu@15000000", [0x5a3, 0x0])]),
                new("/soc@0/dma-controller@a00000", [new("/soc@0/iommu@15000000", [0x56, 0x0])]),
                new("/soc@0/geniqup@ac0000", [new("/soc@0/iommu@15000000", [0x43, 0x0])]),
                new("/soc@0/pci@1c00000", [new("/soc@0/iommu@15000000", [0x1c00, 0x7f])]),
                new("/soc@0/pci@1c08000", [new("/soc@0/iommu@15000000", [0x1c80, 0x7f])]),
                new("/soc@0/pci@1c10000", [new("/soc@0/iommu@15000000", [0x1d00, 0x7f])]),
                new("/soc@0/ufshc@1d84000", [new("/soc@0/iommu@15000000", [0xe0, 0x0]), new("/soc@0/iommu@15000000", [0x4e0, 0x0])]),
                new("/soc@0/gpu@3d00000", [new("/soc@0/iommu@3da0000", [0x0, 0x401])]),
                new("/soc@0/gmu@3d6a000", [new("/soc@0/iommu@3da0000", [0x5, 0x400])]),
                new("/soc@0/remoteproc@5c00000/glink-edge/fastrpc/compute-cb@1", [new("/soc@0/iommu@15000000", [0x541, 0x0])]),
                new("/soc@0/remoteproc@5c00000/glink-edge/fastrpc/compute-cb@2", [new("/soc@0/iommu@15000000", [0x542, 0x0])]),
                new("/soc@0/remoteproc@5c00000/glink-edge/fastrpc/compute-cb@3", [new("/soc@0/iommu@15000000", [0x543, 0x0])]),
                new("/soc@0/remoteproc@8300000/glink-edge/fastrpc/compute-cb@1", [new("/soc@0/iommu@15000000", [0x1001, 0x460])]),
                new("/soc@0/remoteproc@8300000/glink-edge/fastrpc/compute-cb@2", [new("/soc@0/iommu@15000000", [0x1002, 0x460])]),
                new("/soc@0/remoteproc@8300000/glink-edge/fastrpc/compute-cb@3", [new("/soc@0/iommu@15000000", [0x1003, 0x460])]),
                new("/soc@0/remoteproc@8300000/glink-edge/fastrpc/compute-cb@4", [new("/soc@0/iommu@15000000", [0x1004, 0x460])]),
                new("/soc@0/remoteproc@8300000/glink-edge/fastrpc/compute-cb@5", [new("/soc@0/iommu@15000000", [0x1005, 0x460])]),
                new("/soc@0/remoteproc@8300000/glink-edge/fastrpc/compute-cb@6", [new("/soc@0/iommu@15000000", [0x1006, 0x460])]),
                new("/soc@0/remoteproc@8300000/glink-edge/fastrpc/compute-cb@7", [new("/soc@0/iommu@15000000", [0x1007, 0x460])]),
                new("/soc@0/remoteproc@8300000/glink-edge/fastrpc/compute-cb@8", [new("/soc@0/iommu@15000000", [0x1008, 0x460])]),
                new("/soc@0/mmc@8804000", [new("/soc@0/iommu@15000000", [0x4a0, 0x0])]),
                new("/soc@0/usb@a6f8800/usb@a600000", [new("/soc@0/iommu@15000000", [0x0, 0x0])]),
                new("/soc@0/usb@a8f8800/usb@a800000", [new("/soc@0/iommu@15000000", [0x20, 0x0])]),
                new("/soc@0/video-codec@aa00000", [new("/soc@0/iommu@15000000", [0x2100, 0x400])]),
                new("/soc@0/camss@ac6a000", [new("/soc@0/iommu@15000000", [0x800, 0x400]), new("/soc@0/iommu@15000000", [0x801, 0x400]), new("/soc@0/iommu@15000000", [0x840, 0x400]), new("/soc@0/iommu@15000000", [0x841, 0x400]), new("/soc@0/iommu@15000000", [0xc00, 0x400]), new("/soc@0/iommu@15000000", [0xc01, 0x400]), new("/soc@0/iommu@15000000", [0xc40, 0x400]), new("/soc@0/iommu@15000000", [0xc41, 0x400])]),
                new("/soc@0/mdss@ae00000", [new("/soc@0/iommu@15000000", [0x820, 0x402])]),
                new("/soc@0/remoteproc@17300000/glink-edge/apr/apr-service@7/dais", [new("/soc@0/iommu@15000000", [0x1801, 0x0])]),
                new("/soc@0/remoteproc@17300000/glink-edge/fastrpc/compute-cb@3", [new("/soc@0/iommu@15000000", [0x1803, 0x0])]),
                new("/soc@0/remoteproc@17300000/glink-edge/fastrpc/compute-cb@4", [new("/soc@0/iommu@15000000", [0x1804, 0x0])]),
                new("/soc@0/remoteproc@17300000/glink-edge/fastrpc/compute-cb@5", [new("/soc@0/iommu@15000000", [0x1805, 0x0])])
            ]),
        ["arm64_renesas_r8a774a1-hihope-rzg2m.dtb"] = new(
            [new("/soc/iommu@e6740000", "renesas,ipmmu-r8a774a1", 1), new("/soc/iommu@e7740000", "renesas,ipmmu-r8a774a1", 1), new("/soc/iommu@e6570000", "renesas,ipmmu-r8a774a1", 1), new("/soc/iommu@e67b0000", "renesas,ipmmu-r8a774a1", 1), new("/soc/iommu@ec670000", "renesas,ipmmu-r8a774a1", 1), new("/soc/iommu@fd800000", "renesas,ipmmu-r8a774a1", 1), new("/soc/iommu@fd950000", "renesas,ipmmu-r8a774a1", 1), new("/soc/iommu@fe6b0000", "renesas,ipmmu-r8a774a1", 1), new("/soc/iommu@febd0000", "renesas,ipmmu-r8a774a1", 1)],
            [
                new("/soc/dma-controller@e6700000", [new("/soc/iommu@e6740000", [0x0]), new("/soc/iommu@e6740000", [0x1]), new("/soc/iommu@e6740000", [0x2]), new("/soc/iommu@e6740000", [0x3]), new("/soc/iommu@e6740000", [0x4]), new("/soc/iommu@e6740000", [0x5]), new("/soc/iommu@e6740000", [0x6]), new("/soc/iommu@e6740000", [0x7]), new("/soc/iommu@e6740000", [0x8]), new("/soc/iommu@e6740000", [0x9]), new("/soc/iommu@e6740000", [0xa]), new("/soc/iommu@e6740000", [0xb]), new("/soc/iommu@e6740000", [0xc]), new("/soc/iommu@e6740000", [0xd]), new("/soc/iommu@e6740000", [0xe]), new("/soc/iommu@e6740000", [0xf])]),
                new("/soc/dma-controller@e7300000", [new("/soc/iommu@e7740000", [0x0]), new("/soc/iommu@e7740000", [0x1]), new("/soc/iommu@e7740000", [0x2]), new("/soc/iommu@e7740000", [0x3]), new("/soc/iommu@e7740000", [0x4]), new("/soc/iommu@e7740000", [0x5]), new("/soc/iommu@e7740000", [0x6]), new("/soc/iommu@e7740000", [0x7]), new("/soc/iommu@e7740000", [0x8]), new("/soc/iommu@e7740000", [0x9]), new("/soc/iommu@e7740000", [0xa]), new("/soc/iommu@e7740000", [0xb]), new("/soc/iommu@e7740000", [0xc]), new("/soc/iommu@e7740000", [0xd]), new("/soc/iommu@e7740000", [0xe]), new("/soc/iommu@e7740000", [0xf])]),
                new("/soc/dma-controller@e7310000", [new("/soc/iommu@e7740000", [0x10]), new("/soc/iommu@e7740000", [0x11]), new("/soc/iommu@e7740000", [0x12]), new("/soc/iommu@e7740000", [0x13]), new("/soc/iommu@e7740000", [0x14]), new("/soc/iommu@e7740000", [0x15]), new("/soc/iommu@e7740000", [0x16]), new("/soc/iommu@e7740000", [0x17]), new("/soc/iommu@e7740000", [0x18]), new("/soc/iommu@e7740000", [0x19]), new("/soc/iommu@e7740000", [0x1a]), new("/soc/iommu@e7740000", [0x1b]), new("/soc/iommu@e7740000", [0x1c]), new("/soc/iommu@e7740000", [0x1d]), new("/soc/iommu@e7740000", [0x1e]), new("/soc/iommu@e7740000", [0x1f])]),
                new("/soc/ethernet@e6800000", [new("/soc/iommu@e6740000", [0x10])]),
                new("/soc/dma-controller@ec700000", [new("/soc/iommu@ec670000", [0x0]), new("/soc/iommu@ec670000", [0x1]), new("/soc/iommu@ec670000", [0x2]), new("/soc/iommu@ec670000", [0x3]), new("/soc/iommu@ec670000", [0x4]), new("/soc/iommu@ec670000", [0x5]), new("/soc/iommu@ec670000", [0x6]), new("/soc/iommu@ec670000", [0x7]), new("/soc/iommu@ec670000", [0x8]), new("/soc/iommu@ec670000", [0x9]), new("/soc/iommu@ec670000", [0xa]), new("/soc/iommu@ec670000", [0xb]), new("/soc/iommu@ec670000", [0xc]), new("/soc/iommu@ec670000", [0xd]), new("/soc/iommu@ec670000", [0xe]), new("/soc/iommu@ec670000", [0xf])]),
                new("/soc/dma-controller@ec720000", [new("/soc/iommu@ec670000", [0x10]), new("/soc/iommu@ec670000", [0x11]), new("/soc/iommu@ec670000", [0x12]), new("/soc/iommu@ec670000", [0x13]), new("/soc/iommu@ec670000", [0x14]), new("/soc/iommu@ec670000", [0x15]), new("/soc/iommu@ec670000", [0x16]), new("/soc/iommu@ec670000", [0x17]), new("/soc/iommu@ec670000", [0x18]), new("/soc/iommu@ec670000", [0x19]), new("/soc/iommu@ec670000", [0x1a]), new("/soc/iommu@ec670000", [0x1b]), new("/soc/iommu@ec670000", [0x1c]), new("/soc/iommu@ec670000", [0x1d]), new("/soc/iommu@ec670000", [0x1e]), new("/soc/iommu@ec670000", [0x1f])]),
                new("/soc/fcp@fea27000", [new("/soc/iommu@febd0000", [0x8])]),
                new("/soc/fcp@fea2f000", [new("/soc/iommu@febd0000", [0x9])]),
                new("/soc/fcp@fea37000", [new("/soc/iommu@febd0000", [0xa])]),
                new("/soc/fcp@fe9af000", [new("/soc/iommu@fe6b0000", [0x13])])
            ]),
        ["arm64_rockchip_rk3399-rockpro64.dtb"] = new(
            [new("/iommu@ff650800", "rockchip,iommu", 0), new("/iommu@ff660480", "rockchip,iommu", 0), new("/iommu@ff670800", "rockchip,iommu", 0), new("/iommu@ff8f3f00", "rockchip,iommu", 0), new("/iommu@ff903f00", "rockchip,iommu", 0), new("/iommu@ff914000", "rockchip,iommu", 0), new("/iommu@ff924000", "rockchip,iommu", 0)],
            [
                new("/video-codec@ff650000", [new("/iommu@ff650800", [])]),
                new("/video-codec@ff660000", [new("/iommu@ff660480", [])]),
                new("/vop@ff8f0000", [new("/iommu@ff8f3f00", [])]),
                new("/vop@ff900000", [new("/iommu@ff903f00", [])]),
                new("/isp0@ff910000", [new("/iommu@ff914000", [])]),
                new("/isp1@ff920000", [new("/iommu@ff924000", [])])
            ]),
        ["arm64_xilinx_zynqmp-zcu102-rev1.0.dtb"] = new(
            [new("/axi/iommu@fd800000", "arm,mmu-500", 1)],
            [
                new("/axi/dma-controller@fd500000", [new("/axi/iommu@fd800000", [0x14e8])]),
                new("/axi/dma-controller@fd510000", [new("/axi/iommu@fd800000", [0x14e9])]),
                new("/axi/dma-controller@fd520000", [new("/axi/iommu@fd800000", [0x14ea])]),
                new("/axi/dma-controller@fd530000", [new("/axi/iommu@fd800000", [0x14eb])]),
                new("/axi/dma-controller@fd540000", [new("/axi/iommu@fd800000", [0x14ec])]),
                new("/axi/dma-controller@fd550000", [new("/axi/iommu@fd800000", [0x14ed])]),
                new("/axi/dma-controller@fd560000", [new("/axi/iommu@fd800000", [0x14ee])]),
                new("/axi/dma-controller@fd570000", [new("/axi/iommu@fd800000", [0x14ef])]),
                new("/axi/dma-controller@ffa80000", [new("/axi/iommu@fd800000", [0x868])]),
                new("/axi/dma-controller@ffa90000", [new("/axi/iommu@fd800000", [0x869])]),
                new("/axi/dma-controller@ffaa0000", [new("/axi/iommu@fd800000", [0x86a])]),
                new("/axi/dma-controller@ffab0000", [new("/axi/iommu@fd800000", [0x86b])]),
                new("/axi/dma-controller@ffac0000", [new("/axi/iommu@fd800000", [0x86c])]),
                new("/axi/dma-controller@ffad0000", [new("/axi/iommu@fd800000", [0x86d])]),
                new("/axi/dma-controller@ffae0000", [new("/axi/iommu@fd800000", [0x86e])]),
                new("/axi/dma-controller@ffaf0000", [new("/axi/iommu@fd800000", [0x86f])]),
                new("/axi/nand-controller@ff100000", [new("/axi/iommu@fd800000", [0x872])]),
                new("/axi/ethernet@ff0b0000", [new("/axi/iommu@fd800000", [0x874])]),
                new("/axi/ethernet@ff0c0000", [new("/axi/iommu@fd800000", [0x875])]),
                new("/axi/ethernet@ff0d0000", [new("/axi/iommu@fd800000", [0x876])]),
                new("/axi/ethernet@ff0e0000", [new("/axi/iommu@fd800000", [0x877])]),
                new("/axi/pcie@fd0e0000", [new("/axi/iommu@fd800000", [0x4d0])]),
                new("/axi/spi@ff0f0000", [new("/axi/iommu@fd800000", [0x873])]),
                new("/axi/ahci@fd0c0000", [new("/axi/iommu@fd800000", [0x4c0]), new("/axi/iommu@fd800000", [0x4c1]), new("/axi/iommu@fd800000", [0x4c2]), new("/axi/iommu@fd800000", [0x4c3])]),
                new("/axi/mmc@ff160000", [new("/axi/iommu@fd800000", [0x870])]),
                new("/axi/mmc@ff170000", [new("/axi/iommu@fd800000", [0x871])]),
                new("/axi/usb@ff9d0000/usb@fe200000", [new("/axi/iommu@fd800000", [0x860])]),
                new("/axi/usb@ff9e0000/usb@fe300000", [new("/axi/iommu@fd800000", [0x861])])
            ]),
        ["armhf_dra7-evm.dtb"] = new(
            [new("/ocp/target-module@40d01000/mmu@0", "ti,dra7-dsp-iommu", 0), new("/ocp/target-module@40d02000/mmu@0", "ti,dra7-dsp-iommu", 0), new("/ocp/target-module@58882000/mmu@0", "ti,dra7-iommu", 0), new("/ocp/target-module@55082000/mmu@0", "ti,dra7-iommu", 0), new("/ocp/target-module@41501000/mmu@0", "ti,dra7-dsp-iommu", 0), new("/ocp/target-module@41502000/mmu@0", "ti,dra7-dsp-iommu", 0)],
            [
                new("/ocp/ipu@58820000", [new("/ocp/target-module@58882000/mmu@0", [])]),
                new("/ocp/ipu@55020000", [new("/ocp/target-module@55082000/mmu@0", [])]),
                new("/ocp/dsp@40800000", [new("/ocp/target-module@40d01000/mmu@0", []), new("/ocp/target-module@40d02000/mmu@0", [])]),
                new("/ocp/dsp@41000000", [new("/ocp/target-module@41501000/mmu@0", []), new("/ocp/target-module@41502000/mmu@0", [])])
            ]),
        ["armhf_exynos4412-odroidu3.dtb"] = new(
            [new("/soc/sysmmu@13620000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@13630000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@12e20000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@11a20000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@11a30000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@11a40000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@11a50000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@11a60000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@12a30000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@11e20000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@10a40000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@12260000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@12270000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@122a0000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@122b0000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@123b0000", "samsung,exynos-sysmmu", 0), new("/soc/sysmmu@123c0000", "samsung,exynos-sysmmu", 0)],
            [
                new("/soc/camera/fimc@11800000", [new("/soc/sysmmu@11a20000", [])]),
                new("/soc/camera/fimc@11810000", [new("/soc/sysmmu@11a30000", [])]),
                new("/soc/camera/fimc@11820000", [new("/soc/sysmmu@11a40000", [])]),
                new("/soc/camera/fimc@11830000", [new("/soc/sysmmu@11a50000", [])]),
                new("/soc/camera/fimc-lite@12390000", [new("/soc/sysmmu@123b0000", [])]),
                new("/soc/camera/fimc-lite@123a0000", [new("/soc/sysmmu@123c0000", [])]),
                new("/soc/camera/fimc-is@12000000", [new("/soc/sysmmu@12260000", []), new("/soc/sysmmu@12270000", []), new("/soc/sysmmu@122a0000", []), new("/soc/sysmmu@122b0000", [])]),
                new("/soc/codec@13400000", [new("/soc/sysmmu@13620000", []), new("/soc/sysmmu@13630000", [])]),
                new("/soc/fimd@11c00000", [new("/soc/sysmmu@11e20000", [])]),
                new("/soc/jpeg-codec@11840000", [new("/soc/sysmmu@11a60000", [])]),
                new("/soc/rotator@12810000", [new("/soc/sysmmu@12a30000", [])]),
                new("/soc/mixer@12c10000", [new("/soc/sysmmu@12e20000", [])]),
                new("/soc/g2d@10800000", [new("/soc/sysmmu@10a40000", [])])
            ]),
        ["armhf_omap4-panda.dtb"] = new(
            [new("/ocp/interconnect@4a000000/segment@0/target-module@66000/mmu@0", "ti,omap4-iommu", 0), new("/ocp/target-module@55082000/mmu@0", "ti,omap4-iommu", 0)],
            [
                new("/ocp/dsp", [new("/ocp/interconnect@4a000000/segment@0/target-module@66000/mmu@0", [])]),
                new("/ocp/ipu@55020000", [new("/ocp/target-module@55082000/mmu@0", [])])
            ]),
        ["armhf_rk3288-firefly.dtb"] = new(
            [new("/iommu@ff900800", "rockchip,iommu", 0), new("/iommu@ff914000", "rockchip,iommu", 0), new("/iommu@ff930300", "rockchip,iommu", 0), new("/iommu@ff940300", "rockchip,iommu", 0), new("/iommu@ff9a0800", "rockchip,iommu", 0), new("/iommu@ff9c0440", "rockchip,iommu", 0)],
            [
                new("/vop@ff930000", [new("/iommu@ff930300", [])]),
                new("/vop@ff940000", [new("/iommu@ff940300", [])]),
                new("/video-codec@ff9a0000", [new("/iommu@ff9a0800", [])])
            ]),
    };
}
