using DmaLab.Dma;
using DmaLab.DmaIommu;

namespace DmaLab.Tests.DmaIommu;

/// <summary>The ARM32 bitmap IOVA allocator against arch/arm/mm/dma-mapping.c's rules (arm_iommu_create_mapping(),
/// __alloc_iova(), extend_iommu_mapping(), __free_iova()).</summary>
public class ArmIommuMappingTests
{
    const ulong Page = 4096;

    [Fact]
    public void CreateSizesBitmapsLikeTheKernel()
    {
        // 4 GiB at 0: 2^20 bits = 128 KiB of bitmap → 32 one-page extensions of 32768 bits (128 MiB each)
        var m = ArmIommuMapping.Create(0, 1UL << 32, null, out int err)!;
        Assert.Equal(0, err);
        Assert.Equal(32, m.Extensions);
        Assert.Equal(32768, m.Bits);
        Assert.Equal(1, m.NrBitmaps);
        Assert.Equal(128UL << 20, m.BitmapSpan);
        // 64 KiB: 16 bits round up to one 32-bit long, so the bitmap holds 32 pages (the kernel over-covers)
        var small = ArmIommuMapping.Create(0x10000000, 0x10000, null, out _)!;
        Assert.Equal(32, small.Bits);
        Assert.Equal(1, small.Extensions);
        Assert.Null(ArmIommuMapping.Create(0, (1UL << 32) + Page, null, out err));
        Assert.Equal(-DmaLab.Errno.ERANGE, err);
        Assert.Null(ArmIommuMapping.Create(0, 0x800, null, out err));
        Assert.Equal(-DmaLab.Errno.EINVAL, err);
    }

    [Fact]
    public void AllocationsAlignToTheirOrderCappedAtTheConfig()
    {
        var m = ArmIommuMapping.Create(0x80000000, 0x40000000, null, out _)!;
        Assert.Equal(0x80000000UL, m.AllocIova(Page).Value);          // bit 0
        Assert.Equal(0x80002000UL, m.AllocIova(2 * Page).Value);      // order 1: bit 2
        Assert.Equal(0x80001000UL, m.AllocIova(0x800).Value);         // sub-page: one page, first fit at bit 1
        Assert.Equal(0x80004000UL, m.AllocIova(3 * Page).Value);      // order 2 (4-page aligned), 3 pages: bits 4..6
        Assert.Equal(0x80008000UL, m.AllocIova(5 * Page).Value);      // order 3: bit 8
        Assert.Equal(0x80007000UL, m.AllocIova(Page).Value);          // the hole at bit 7
        // 2 MiB = order 9, capped at CONFIG_ARM_DMA_IOMMU_ALIGNMENT 8 → 1 MiB alignment
        Assert.Equal(0x80100000UL, m.AllocIova(2UL << 20).Value);
        Assert.Equal(0x8000d000UL, m.AllocIova(Page).Value);
    }

    [Fact]
    public void FreedRangesAreReusedFirstFit()
    {
        var m = ArmIommuMapping.Create(0, 1UL << 32, null, out _)!;
        var a = m.AllocIova(4 * Page).Value;
        var b = m.AllocIova(4 * Page).Value;
        var c = m.AllocIova(4 * Page).Value;
        Assert.Equal((0UL, 0x4000UL, 0x8000UL), (a, b, c));
        m.FreeIova(b, 4 * Page);
        Assert.False(m.IsAllocated(b));
        Assert.Equal(0x4000UL, m.AllocIova(Page).Value);
        Assert.Equal(0x5000UL, m.AllocIova(Page).Value);
        Assert.Equal(0x6000UL, m.AllocIova(2 * Page).Value);
        Assert.Equal(0xc000UL, m.AllocIova(Page).Value);
        Assert.Equal(13, m.AllocatedPages);
    }

    [Fact]
    public void ExtensionsGrowOnDemandAndAllocationsNeverStraddleThem()
    {
        // 512 MiB window: 4 extensions of 128 MiB
        var m = ArmIommuMapping.Create(0x20000000, 512UL << 20, null, out _)!;
        Assert.Equal(4, m.Extensions);
        ulong span = m.BitmapSpan;
        // fill the first bitmap except its last page, with 1 MiB (256-page) blocks
        int blocks = (int)(span / (1UL << 20));
        for (int i = 0; i < blocks - 1; i++) Assert.False(m.AllocIova(1UL << 20).IsError);
        Assert.Equal(0x20000000UL + span - (1UL << 20), m.AllocIova(255 * Page).Value);
        Assert.Equal(1, m.NrBitmaps);
        Assert.Equal(0x20000000UL + span - Page, m.AllocIova(Page).Value);  // the very last page, still bitmap 0
        // two pages no longer fit in bitmap 0: a second bitmap appears and the range starts at its base
        Assert.Equal(0x20000000UL + span, m.AllocIova(2 * Page).Value);
        Assert.Equal(2, m.NrBitmaps);
        // a freed hole in bitmap 0 is found before bitmap 1
        m.FreeIova(0x20000000, 1UL << 20);
        Assert.Equal(0x20000000UL, m.AllocIova(Page).Value);
        // bigger than one bitmap never fits; each failing call adds exactly one extension until all exist
        Assert.True(m.AllocIova(span + Page).IsError);
        Assert.Equal(3, m.NrBitmaps);
        Assert.True(m.AllocIova(span + Page).IsError);
        Assert.Equal(4, m.NrBitmaps);
        Assert.True(m.AllocIova(span + Page).IsError);
        Assert.Equal(4, m.NrBitmaps);
        Assert.Throws<InvalidOperationException>(() => m.FreeIova(0x10000000, Page));
        Assert.Throws<InvalidOperationException>(() => m.FreeIova(0x20000000 + span - Page, 2 * Page));
    }

    [Fact]
    public void MatchesAReferenceModelOnRandomSequences()
    {
        var rng = new Random(1234);
        var m = ArmIommuMapping.Create(0x40000000, 64UL << 20, null, out _)!; // bits 16384, one bitmap
        var used = new bool[m.Bits];
        var live = new List<(ulong Iova, ulong Size)>();
        for (int step = 0; step < 600; step++)
        {
            if (live.Count > 0 && rng.Next(3) == 0)
            {
                int k = rng.Next(live.Count);
                var (iova, size) = live[k];
                live.RemoveAt(k);
                m.FreeIova(iova, size);
                for (ulong p = 0; p < size / Page; p++) used[(iova - 0x40000000) / Page + p] = false;
                continue;
            }
            ulong sz = (ulong)rng.Next(1, 300) * Page;
            int order = ArmIommuMapping.GetOrder(sz);
            int align = 1 << Math.Min(order, 8);
            int count = (int)(sz / Page);
            int expect = -1;
            for (int s = 0; s + count <= used.Length; s += align)
            {
                bool free = true;
                for (int j = 0; j < count && free; j++) free = !used[s + j];
                if (free) { expect = s; break; }
            }
            var got = m.AllocIova(sz);
            if (expect < 0) { Assert.True(got.IsError); continue; }
            Assert.Equal(0x40000000UL + (ulong)expect * Page, got.Value);
            for (int j = 0; j < count; j++) used[expect + j] = true;
            live.Add((got.Value, sz));
        }
    }
}
