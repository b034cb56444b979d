using DmaLab.Platform.Dtb;

namespace DmaLab.Tests.Platform.Dtb;

public class IommuBindingTests
{
    [Theory]
    [InlineData("arm,mmu-500", "ArmSmmu")]
    [InlineData("arm,mmu-401", "ArmSmmu")]
    [InlineData("arm,smmu-v1", "ArmSmmu")]
    [InlineData("arm,smmu-v2", "ArmSmmu")]
    [InlineData("qcom,sdm845-smmu-500", "ArmSmmu")]
    [InlineData("qcom,msm8996-smmu-v2", "ArmSmmu")]
    [InlineData("marvell,ap806-smmu-500", "ArmSmmu")]
    [InlineData("arm,smmu-v3", "ArmSmmuV3")]
    [InlineData("ti,omap2-iommu", "Omap")]
    [InlineData("ti,omap4-iommu", "Omap")]
    [InlineData("ti,dra7-iommu", "Omap")]
    [InlineData("ti,dra7-dsp-iommu", "Omap")]
    [InlineData("samsung,exynos-sysmmu", "Exynos")]
    [InlineData("qcom,msm8916-iommu", "Msm")]
    [InlineData("qcom,msm-iommu-v1", "Msm")]
    [InlineData("qcom,apq8064-iommu", "Msm")]
    [InlineData("nvidia,tegra30-mc", "Tegra")]
    [InlineData("nvidia,tegra210-mc", "Tegra")]
    [InlineData("rockchip,iommu", "Rockchip")]
    [InlineData("rockchip,rk3568-iommu", "Rockchip")]
    [InlineData("allwinner,sun50i-h6-iommu", "Sun50i")]
    [InlineData("renesas,ipmmu-vmsa", "Ipmmu")]
    [InlineData("renesas,ipmmu-r8a7795", "Ipmmu")]
    [InlineData("mediatek,mt8173-m4u", "Unknown")]
    [InlineData("apple,dart", "Unknown")]
    public void CompatibleMapsToDriverModel(string compatible, string model)
    {
        Assert.Equal(model, IommuBinding.ModelFor([compatible], out var matched));
        Assert.Equal(model == "Unknown" ? null : compatible, matched);
    }

    [Fact]
    public void MostSpecificKnownCompatibleWins()
    {
        Assert.Equal("ArmSmmu", IommuBinding.ModelFor(["vendor,new-thing", "qcom,sm8250-smmu-500", "arm,mmu-500"], out var m));
        Assert.Equal("qcom,sm8250-smmu-500", m);
    }
}
