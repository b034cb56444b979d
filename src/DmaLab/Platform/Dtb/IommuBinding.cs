namespace DmaLab.Platform.Dtb;

/// <summary>
/// What the importer knows of an IOMMU binding: which of our driver models a compatible string maps to, whether
/// the model is approximated, and what the `iommus` argument cells mean (each driver's of_xlate()).
/// </summary>
public static class IommuBinding
{
    /// <summary>Model name for providers nothing here recognises.</summary>
    public const string Unknown = "Unknown";

    /// <summary>
    /// Our driver model for a provider node's compatible list (first string that matches wins, as of_match_node()
    /// prefers the most specific entry), or <see cref="Unknown"/>.
    /// </summary>
    public static string ModelFor(IReadOnlyList<string> compatibles, out string? matched)
    {
        foreach (var c in compatibles)
        {
            var m = ModelForOne(c);
            if (m is not null) { matched = c; return m; }
        }
        matched = null;
        return Unknown;
    }

    /// <summary>Driver match tables: drivers/iommu/arm/arm-smmu/arm-smmu.c (arm_smmu_of_match, plus the
    /// qcom/nvidia/marvell implementations), arm-smmu-v3.c, omap-iommu.c, exynos-iommu.c, msm_iommu.c and
    /// arm/arm-smmu/qcom_iommu.c, tegra-smmu.c (via the memory controller), rockchip-iommu.c, sun50i-iommu.c,
    /// ipmmu-vmsa.c.</summary>
    static string? ModelForOne(string c)
    {
        switch (c)
        {
            case "arm,smmu-v1" or "arm,smmu-v2" or "arm,mmu-400" or "arm,mmu-401" or "arm,mmu-500"
                or "cavium,smmu-v2" or "nvidia,smmu-500" or "qcom,smmu-v2" or "qcom,smmu-500" or "qcom,adreno-smmu"
                or "marvell,ap806-smmu-500":
                return "ArmSmmu";
            case "arm,smmu-v3":
                return "ArmSmmuV3";
            case "ti,omap2-iommu" or "ti,omap4-iommu" or "ti,dra7-iommu" or "ti,dra7-dsp-iommu":
                return "Omap";
            case "samsung,exynos-sysmmu":
                return "Exynos";
            case "qcom,apq8064-iommu":
                return "Msm";
            case "rockchip,iommu":
                return "Rockchip";
            // Documentation/devicetree/bindings/virtio/iommu.yaml: a virtio-iommu PCI function, #iommu-cells = <1>
            // (the endpoint ID); host bridges point at it with iommu-map (drivers/iommu/virtio-iommu.c).
            case "virtio,pci-iommu":
                return "VirtioIommu";
        }
        if (c.StartsWith("qcom,", StringComparison.Ordinal) && (c.EndsWith("-smmu-500", StringComparison.Ordinal) || c.EndsWith("-smmu-v2", StringComparison.Ordinal)))
            return "ArmSmmu";
        if (c.StartsWith("nvidia,tegra", StringComparison.Ordinal) && c.EndsWith("-smmu", StringComparison.Ordinal))
            return "ArmSmmu"; // Tegra186+ SMMUs are MMU-500s (arm-smmu-nvidia.c)
        if (c.StartsWith("qcom,msm", StringComparison.Ordinal) && c.Contains("-iommu", StringComparison.Ordinal))
            return "Msm";
        if (c.StartsWith("nvidia,tegra", StringComparison.Ordinal) && c.EndsWith("-mc", StringComparison.Ordinal))
            return "Tegra";
        if (c.StartsWith("rockchip,", StringComparison.Ordinal) && c.EndsWith("iommu", StringComparison.Ordinal))
            return "Rockchip";
        if (c.StartsWith("allwinner,sun50i-", StringComparison.Ordinal) && c.EndsWith("-iommu", StringComparison.Ordinal))
            return "Sun50i";
        if (c.StartsWith("renesas,ipmmu-", StringComparison.Ordinal))
            return "Ipmmu";
        return null;
    }

    /// <summary>Models imported with geometry but no exact driver model of their own; the importer says so.</summary>
    public static string? ApproximationNote(string model, string compatible) => model switch
    {
        "Sun50i" => $"{compatible}: Allwinner sun50i IOMMU modelled approximately (single 2-level table, 4 KiB pages, per-master IDs as given; TLB prefetch and per-master permissions are not modelled)",
        "Ipmmu" => $"{compatible}: Renesas IPMMU-VMSA modelled approximately (VMSAv8 LPAE tables, one context per domain, µTLB IDs as given; cache-IPMMU/main-IPMMU topology and whitelists are not modelled)",
        "Msm" when compatible != "qcom,apq8064-iommu" =>
            $"{compatible}: Qualcomm firmware-managed SMMU (Linux qcom_iommu.c, an ARM SMMUv2 with fixed context banks) modelled with the Msm driver model; the iommus cell is the context bank",
        _ => null,
    };

    /// <summary>
    /// Turns one `iommus` entry's argument cells into the IDs the driver records in the master's iommu_fwspec.
    /// ArmSmmu: stream ID in bits 15:0 and SMR mask in bits 31:16, the mask from the second cell or else the
    /// provider's stream-match-mask (arm_smmu_of_xlate()). ArmSmmuV3, Tegra (swgroup), Ipmmu (µTLB), Sun50i,
    /// Msm (context / master ID): the first cell. Rockchip, Exynos, OMAP: no cells, no IDs. Unknown: every cell.
    /// </summary>
    public static List<uint> DecodeIds(string model, DtNode provider, uint[] args)
    {
        var ids = new List<uint>(2);
        switch (model)
        {
            case "ArmSmmu":
            {
                if (args.Length == 0) break;
                uint fwid = args[0] & 0xffff;
                if (args.Length > 1)
                    fwid |= (args[1] & 0xffff) << 16;
                else if (provider.TryGetU32("stream-match-mask", out uint mask))
                    fwid |= (mask & 0xffff) << 16;
                ids.Add(fwid);
                break;
            }
            case "ArmSmmuV3" or "Tegra" or "Ipmmu" or "Sun50i" or "Msm" or "Rockchip" or "Exynos" or "Omap" or "VirtioIommu":
                if (args.Length > 0) ids.Add(args[0]);
                break;
            default:
                ids.AddRange(args);
                break;
        }
        return ids;
    }
}
