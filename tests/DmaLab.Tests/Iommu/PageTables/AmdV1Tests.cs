using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu.PageTables;

public sealed class AmdV1ContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.AmdV1;
    protected override int RandomOps => 3000;
    protected override int OverlapErrno => 0;
    protected override ulong PartialUnmapResult(ulong block, ulong small) => block;

    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x4030_f000, Ias = 48, Oas = 48 };   // 4K..32K, 1M, 2M, 1G
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0020_1000, Ias = 39, Oas = 48 };   // 3 levels
        yield return new IoPgtableConfig { PgsizeBitmap = 0x8_3000, Ias = 21, Oas = 40 };      // 1 level: 4K, 8K, 512K
        yield return new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 64, Oas = 52, Levels = 6 };
    }
}

/// <summary>PTE/PDE/DTE values against the AMD IOMMU spec (48882) 2.2.2 device table entry and 2.2.3 I/O page tables.</summary>
public sealed class AmdV1DescriptorTests
{
    static PgtableFixture New(int levels = 4) => new(IoPgtableFormat.AmdV1, new IoPgtableConfig { PgsizeBitmap = ~0UL, Ias = 64, Oas = 52, Levels = levels });

    [Fact]
    public void NegotiationAndDte()
    {
        var f = New();
        Assert.Equal(48, f.Config.Ias);
        Assert.Equal(~0xFFFUL & ~(1UL << 39) & ((1UL << 48) - 1), f.Config.PgsizeBitmap);
        // V | TV | Mode=4 | IR | IW | root
        Assert.Equal(f.Table.Root.Value | 0x6000_0000_0000_0803, f.Config.Registers["DTE0"]);
        Assert.Throws<ArgumentException>(() => New(7));
    }

    [Fact]
    public void PdeAndPteBits()
    {
        var f = New();
        Assert.Equal(0, f.Map(0x1000, 0x8000_1000, 0x1000, IommuProt.Read | IommuProt.Write));
        ulong l4 = f.U64(f.Table.Root.Value);
        Assert.Equal(0x6000_0000_0000_0601UL, l4 & ~0x000F_FFFF_FFFF_F000UL);   // PR | next level 3 | IR | IW
        ulong l3 = f.U64(l4 & 0x000F_FFFF_FFFF_F000), l2 = f.U64(l3 & 0x000F_FFFF_FFFF_F000);
        Assert.Equal(2UL, (l3 >> 9) & 7);
        Assert.Equal(1UL, (l2 >> 9) & 7);
        Assert.Equal(0x7000_0000_8000_1001UL, f.U64((l2 & 0x000F_FFFF_FFFF_F000) + 8));   // PR | FC | IR | IW, next level 0
        Assert.Equal(4, f.Table.Walk(0x1000).DescriptorReads);
    }

    [Fact]
    public void DefaultPageSizeEntriesAreReplicatedWithSizeInAddress()
    {
        var f = New();
        Assert.Equal(0, f.Map(0x10000, 0x8001_0000, 0x4000, IommuProt.Read));
        ulong l4 = f.U64(f.Table.Root.Value), l3 = f.U64(l4 & 0x000F_FFFF_FFFF_F000), l2 = f.U64(l3 & 0x000F_FFFF_FFFF_F000);
        ulong table = l2 & 0x000F_FFFF_FFFF_F000;
        // 16K: address bits [12] = 1, [13] = 0, next level 7, in 4 consecutive entries
        for (ulong i = 0; i < 4; i++) Assert.Equal(0x3000_0000_8001_1E01UL, f.U64(table + (16 + i) * 8));
        Assert.Equal(0UL, f.U64(table + 20 * 8));
        var w = f.Table.Walk(0x12345);
        Assert.Equal(new WalkResult(true, 0x8001_2345, 0x4000, IommuProt.Read | IommuProt.Cache, 4, WalkFault.None), w);
        // A 4K unmap inside takes the whole 16K page (iommu_v1_unmap_pages()).
        Assert.Equal(0x4000UL, f.Unmap(0x11000, 0x1000));
        for (ulong i = 0; i < 4; i++) Assert.Equal(0UL, f.U64(table + (16 + i) * 8));
    }

    [Fact]
    public void MapOverwritesAndLevelSkippingWalks()
    {
        var f = New();
        Assert.Equal(0, f.Map(0x20_0000, 0x8000_0000, 0x20_0000));
        Assert.Equal(0, f.Map(0x20_1000, 0x9000_0000, 0x1000));      // replaces the 2M page by a table
        Assert.Equal(0x9000_0000UL, f.Table.IovaToPhys(0x20_1000));
        Assert.Equal(0UL, f.Table.IovaToPhys(0x20_2000));
        Assert.Equal(0, f.Map(0x20_1000, 0xa000_0000, 0x1000));      // plain overwrite
        Assert.Equal(0xa000_0000UL, f.Table.IovaToPhys(0x20_1000));

        // Hand-build a skipping PDE: root entry 0 points straight at the level-1 table (next level 1).
        ulong l4 = f.U64(f.Table.Root.Value), l3 = f.U64(l4 & 0x000F_FFFF_FFFF_F000), l2 = f.U64((l3 & 0x000F_FFFF_FFFF_F000) + 8);
        ulong l1table = l2 & 0x000F_FFFF_FFFF_F000;   // the page table of 0x20_0000..0x3f_ffff
        f.Memory.TryWriteU64(new(f.Table.Root.Value), l1table | 0x6000_0000_0000_0201);   // PR | IR | IW | next level 1
        var w = f.Table.Walk(0x1000);
        Assert.True(w.Ok);
        Assert.Equal(0xa000_0000UL, w.Phys);
        Assert.Equal(2, w.DescriptorReads);
        Assert.Equal(WalkFault.Translation, f.Table.Walk(0x20_1000).Fault);   // skipped index bits not zero
    }
}
