using DmaLab.Mm;
using DmaLab.Platform;
using static DmaLab.Tests.Mm.MmTestPlatforms;

namespace DmaLab.Tests.Mm;

public class MemorySystemTests
{
    [Fact]
    public void Arm64RefBootsWithTheKernelsPlacements()
    {
        var m = new MemorySystem(PlatformLoader.LoadBuiltIn("arm64-ref"));
        Assert.Equal(new MemRange(new PhysAddr(0x8000_0000), 2 * GiB), m.Zone(ZoneType.Dma).Range);
        Assert.False(m.Zone(ZoneType.Dma32).IsPopulated);
        Assert.Equal(new MemRange(new PhysAddr(1UL << 32), 0xA_0000_0000UL - (1UL << 32)), m.Zone(ZoneType.Normal).Range);
        Assert.Equal(1UL << 32, m.DmaPhysLimit.Value);
        // isp-cma: dynamic, top-down inside its alloc-range; then the default area top-down below arm64_dma_phys_limit.
        Assert.Equal(new MemRange(new PhysAddr(0xFE00_0000), 32 * MiB), m.CmaArea("isp-cma")!.Range);
        Assert.Equal(new MemRange(new PhysAddr(0xFA00_0000), 64 * MiB), m.DefaultCma!.Range);
        Assert.Same(m.CmaArea("isp-cma"), m.ReservedRegion("isp-cma")!.Cma);
        Assert.Equal((long)((2 * GiB + 6 * GiB) >> 12), m.PageAllocator.ManagedPages);
        Assert.Equal((long)(96 * MiB >> 12), m.Zone(ZoneType.Dma).Buddy.CmaPages);
        Assert.Empty(m.Notes);
        m.PageAllocator.Validate();
    }

    [Fact]
    public void X86Q35KeepsTheFirstMiBAndHasNoCma()
    {
        var m = new MemorySystem(PlatformLoader.LoadBuiltIn("x86-q35"));
        Assert.Empty(m.CmaAreas);
        Assert.Null(m.DefaultCma);
        Assert.Equal((long)((16 * MiB - 1 * MiB) >> 12), m.Zone(ZoneType.Dma).Buddy.ManagedPages);
        Assert.Equal((long)((0x7FF0_0000UL - 16 * MiB) >> 12), m.Zone(ZoneType.Dma32).Buddy.ManagedPages);
        Assert.Equal((long)(6 * GiB >> 12), m.Zone(ZoneType.Normal).Buddy.ManagedPages);
        var lines = m.PageAllocator.BuddyInfo().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("Node 0, zone    DMA32 ", lines[1]);
        Assert.StartsWith("Node 0, zone   Normal ", lines[2]);
        // A zone-0-based x86 map still keeps page 0..1 MiB out of the buddy allocator.
        var low = new MemorySystem(X86((0, 32 * MiB)));
        Assert.Equal((long)((16 * MiB - 1 * MiB) >> 12), low.Zone(ZoneType.Dma).Buddy.ManagedPages);
    }

    [Fact]
    public void CmaDefaultRegionReplacesTheDefaultArea()
    {
        var spec = SmallArm64();
        spec.ReservedMemory.Add(new ReservedMemorySpec
        {
            Name = "linux,cma", Base = 0x8080_0000, Size = 4 * MiB, Compatible = "shared-dma-pool", Reusable = true, CmaDefault = true,
        });
        spec.ReservedMemory.Add(new ReservedMemorySpec
        {
            Name = "bad-cma", Base = 0x8010_0000, Size = 1 * MiB, Compatible = "shared-dma-pool", Reusable = true,
        });
        var m = new MemorySystem(spec);
        Assert.Equal("linux,cma", m.DefaultCmaName);
        Assert.Single(m.CmaAreas);
        Assert.Contains(m.Notes, n => n.Contains("incorrect alignment of CMA region bad-cma"));
        Assert.Null(m.ReservedRegion("bad-cma")!.Cma);
        m.PageAllocator.Validate();
    }

    [Fact]
    public void AreaCrossingAZoneIsNotActivated()
    {
        // x86: a static CMA region straddling 16 MiB (DMA | DMA32) cannot be activated; its pages become regular.
        var spec = X86((0x10_0000, 64 * MiB));
        spec.ReservedMemory.Add(new ReservedMemorySpec { Name = "straddle", Base = 14 * MiB, Size = 4 * MiB, Compatible = "shared-dma-pool", Reusable = true });
        var m = new MemorySystem(spec);
        Assert.Empty(m.CmaAreas);
        Assert.Contains(m.Notes, n => n.Contains("could not be activated"));
        Assert.Equal((long)((64 * MiB) >> 12), m.PageAllocator.ManagedPages);
        m.PageAllocator.Validate();
    }
}
