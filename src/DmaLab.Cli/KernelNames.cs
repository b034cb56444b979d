namespace DmaLab.Cli;

/// <summary>The names a kernel engineer knows for the model's IOMMU driver models (the platform files' model
/// values): the drivers/iommu driver each stands for.</summary>
public static class KernelNames
{
    public static string Iommu(string model) => model switch
    {
        "ArmSmmu" => "arm-smmu",
        "ArmSmmuV3" => "arm-smmu-v3",
        "IntelVtd" => "intel-vtd",
        "AmdIommu" => "amd-vi",
        "Omap" => "omap-iommu",
        "Msm" => "msm-iommu",
        "Exynos" => "exynos-sysmmu",
        "Tegra" => "tegra-smmu",
        "Rockchip" => "rockchip-iommu",
        "Sun50i" => "sun50i-iommu",
        "Ipmmu" => "ipmmu-vmsa",
        "S390Iommu" => "s390-iommu",
        "Unknown" => "unknown",
        _ => model,
    };
}
