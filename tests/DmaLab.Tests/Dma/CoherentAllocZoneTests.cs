using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.Dma;

/// <summary>
/// dma_alloc_coherent() on a 32-bit arm kernel (no ZONE_DMA32: dma_direct_optimal_gfp_mask() adds no zone and
/// gfp_zone() maps GFP_DMA32 to ZONE_NORMAL) and the finding a NULL return leaves behind.
/// </summary>
public class CoherentAllocZoneTests
{
    /// <summary>Boots the tree with its masters taken off their IOMMUs, so every one is on dma-direct (on 32-bit arm the
    /// IOMMU masters would otherwise get arm_iommu ops).</summary>
    static Machine Boot(string file)
    {
        using var f = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "data", "dtb", file));
        var spec = DtbPlatform.Load(f, file);
        foreach (var d in spec.Devices) d.Iommu = null;
        return Machine.Boot(spec);
    }

    [Fact]
    public void ArmhfCoherentRingsAllocateWithA32BitMask()
    {
        var m = Boot("armhf_exynos4412-odroidu3.dtb");
        Assert.False(m.Memory.Layout.Configured(ZoneType.Dma32));
        // GFP_DMA32 is served from ZONE_NORMAL, as gfp_zone() does without CONFIG_ZONE_DMA32
        Assert.Equal(ZoneType.Normal, m.Memory.PageAllocator.GfpZone(Gfp.Kernel | Gfp.Dma32));
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel | Gfp.Dma32, out _));
        int tried = 0;
        foreach (var dev in m.Devices)
        {
            if (m.SetupOf(dev).Ops != "dma-direct" || dev.CoherentDmaMask != 0xffff_ffffUL) continue;
            var cpu = m.Dma.AllocCoherent(0, dev, 64 * 1024, out var dma, Gfp.Kernel);
            Assert.False(cpu.IsNull, $"{dev.Name}: coherent allocation failed");
            Assert.True(dma.Value + 64 * 1024 - 1 <= dev.CoherentDmaMask);
            m.Dma.FreeAttrs(0, dev, 64 * 1024, cpu, dma);
            tried++;
        }
        Assert.True(tried > 0);
        Assert.DoesNotContain(m.Findings, f => f.Kind == "dma-alloc-failed");
        // no DMA32 atomic pool without the zone (kernel/dma/pool.c)
        Assert.Null(m.DmaSystem.Direct.AtomicPoolDma32);
    }

    [Fact]
    public void Arm64KeepsZoneDma32()
    {
        var m = Boot("arm64_rockchip_rk3399-rockpro64.dtb");
        Assert.True(m.Memory.Layout.Configured(ZoneType.Dma32));
        Assert.Equal(ZoneType.Dma32, m.Memory.PageAllocator.GfpZone(Gfp.Kernel | Gfp.Dma32));
    }

    [Fact]
    public void FailedCoherentAllocationIsAFindingUnlessNoWarn()
    {
        var m = Boot("armhf_exynos4412-odroidu3.dtb");
        var dev = m.Devices.First(d => m.SetupOf(d).Ops == "dma-direct" && d.CoherentDmaMask != 0);
        ulong huge = 1UL << 40;   // beyond every zone and CMA area
        var cpu = m.Dma.AllocAttrs(0, dev, huge, out _, Gfp.Kernel, DmaAttrs.NoWarn);
        Assert.True(cpu.IsNull);
        Assert.DoesNotContain(m.Dma.Findings, f => f.Kind == "dma-alloc-failed");
        cpu = m.Dma.AllocCoherent(0, dev, huge, out _, Gfp.Kernel);
        Assert.True(cpu.IsNull);
        var f = Assert.Single(m.Dma.Findings, f => f.Kind == "dma-alloc-failed");
        Assert.Equal(dev.Name, f.Device);
        Assert.Contains("returned NULL", f.Message);
    }
}
