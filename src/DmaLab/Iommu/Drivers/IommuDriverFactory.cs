namespace DmaLab.Iommu.Drivers;

/// <summary>Creates the driver for an IOMMU instance from its spec's model name (what the kernel's of/ACPI matching does).</summary>
public static class IommuDriverFactory
{
    /// <summary>The models with a driver; "Unknown" (or a disabled instance) gets none, so its masters stay untranslated.</summary>
    public static readonly IReadOnlyList<string> Models =
        ["ArmSmmu", "ArmSmmuV3", "IntelVtd", "AmdIommu", "Omap", "Msm", "Exynos", "Tegra", "Rockchip", "Sun50i", "Ipmmu", "S390Iommu", "VirtioIommu"];

    /// <summary>Returns null for "Unknown"; throws <see cref="ArgumentException"/> for a model name that is not known at all.</summary>
    public static IommuDriverBase? Create(IommuDevice instance, IommuDriverContext context) => instance.Spec.Model switch
    {
        "ArmSmmu" => new ArmSmmu(instance, context),
        "ArmSmmuV3" => new ArmSmmuV3(instance, context),
        "IntelVtd" => new IntelVtd(instance, context),
        "AmdIommu" => new AmdIommu(instance, context),
        "Omap" => new OmapIommu(instance, context),
        "Msm" => new MsmIommu(instance, context),
        "Exynos" => new ExynosSysmmu(instance, context),
        "Tegra" => new TegraSmmu(instance, context),
        "Rockchip" => new RockchipIommu(instance, context),
        "Sun50i" => new Sun50iIommu(instance, context),
        "Ipmmu" => new IpmmuVmsa(instance, context),
        "S390Iommu" => new S390Iommu(instance, context),
        "VirtioIommu" => new VirtioIommu.VirtioIommu(instance, context),
        "Unknown" or "" => null,
        var m => throw new ArgumentException($"IOMMU '{instance.Name}': model '{m}' is not one of {string.Join(", ", Models)} or Unknown"),
    };

    /// <summary>The default IOTLB geometry of a model (for building its translation unit before the driver exists).</summary>
    public static Hardware.IotlbGeometry DefaultIotlb(string model) => model switch
    {
        "ArmSmmu" => new(512, 4, Hardware.IotlbReplacement.Lru, 64, "ArmSmmu"),
        "ArmSmmuV3" => new(256, 4, Hardware.IotlbReplacement.Lru, 64, "ArmSmmuV3"),
        "IntelVtd" => new(1024, 8, Hardware.IotlbReplacement.Lru, 64, "IntelVtd"),
        "AmdIommu" => new(512, 8, Hardware.IotlbReplacement.Lru, 64, "AmdIommu"),
        "Omap" => OmapIommu.Traits.Limits.Iotlb,
        "Msm" => MsmIommu.Traits.Limits.Iotlb,
        "Exynos" => ExynosSysmmu.Traits.Limits.Iotlb,
        "Tegra" => TegraSmmu.Traits.Limits.Iotlb,
        "Rockchip" => RockchipIommu.Traits.Limits.Iotlb,
        "Sun50i" => Sun50iIommu.Traits.Limits.Iotlb,
        "Ipmmu" => IpmmuVmsa.Traits.Limits.Iotlb,
        "S390Iommu" => S390Iommu.DefaultLimits.Iotlb,
        "VirtioIommu" => new(256, 4, Hardware.IotlbReplacement.Lru, 64, "VirtioIommu"),
        _ => new(64, 4, Hardware.IotlbReplacement.Lru, 0, "default"),
    };
}
