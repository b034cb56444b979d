using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu.PageTables;

public sealed class IntelSecondLevelContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.IntelSecondLevel;
    protected override int RandomOps => 3000;
    protected override ulong PartialUnmapResult(ulong block, ulong small) => block;

    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 48, Oas = 46 };
        yield return new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 57, Oas = 52, Levels = 5 };
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0020_1000, Ias = 39, Oas = 39 };
        yield return new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = 48, Oas = 48 };
    }
}

/// <summary>Second-level entries and context entry against the Intel VT-d spec (9.3 context entry, 9.8 second-stage paging entries).</summary>
public sealed class IntelSecondLevelDescriptorTests
{
    static PgtableFixture New(int levels, IoPgtableQuirks q = IoPgtableQuirks.None)
        => new(IoPgtableFormat.IntelSecondLevel, new IoPgtableConfig { PgsizeBitmap = ~0UL, Ias = 64, Oas = 48, Levels = levels, Quirks = q });

    [Fact]
    public void ContextEntryAndNegotiation()
    {
        var f = New(4);
        Assert.Equal(0x4020_1000UL, f.Config.PgsizeBitmap);
        Assert.Equal(48, f.Config.Ias);
        Assert.Equal(f.Table.Root.Value | 1, f.Config.Registers["ContextLo"]);   // SLPTPTR | P, TT = 00
        Assert.Equal(2UL, f.Config.Registers["ContextHi"]);                      // AW = 010b: 48-bit, 4-level
        Assert.Equal(3UL, New(5).Config.Registers["ContextHi"]);
        Assert.Equal(57, New(5).Config.Ias);
        Assert.Throws<ArgumentException>(() => New(2));
    }

    [Fact]
    public void PageAndSuperpageBits()
    {
        var f = New(4, IoPgtableQuirks.IntelForceSnoop);
        Assert.Equal(0, f.Map(0x1000, 0x8000_1000, 0x1000, IommuProt.Read | IommuProt.Write));
        ulong pml4e = f.U64(f.Table.Root.Value), pdpe = f.U64(pml4e & ~0xfffUL), pde = f.U64(pdpe & ~0xfffUL);
        Assert.Equal(3UL, pml4e & 0xfff);                      // non-leaf: R | W
        Assert.Equal(3UL, pde & 0xfff);
        Assert.Equal(0x8000_1000UL | 0x800 | 3, f.U64((pde & ~0xfffUL) + 8));   // R | W | SNP
        Assert.Equal(0, f.Map(0x4000_0000, 0x1_0000_0000, 0x4000_0000, IommuProt.Read));
        Assert.Equal(0x1_0000_0000UL | 0x800 | 0x80 | 1, f.U64((pml4e & ~0xfffUL) + 8));   // 1G: PS | R | SNP
        var w = f.Table.Walk(0x4123_4567);
        Assert.Equal(new WalkResult(true, 0x1_0123_4567, 0x4000_0000, IommuProt.Read | IommuProt.Cache, 2, WalkFault.None), w);
        Assert.Equal(-22, f.Table.MapPages(0x2000, 0x8000_0000, 0x1000, 1, IommuProt.None, out _));
    }

    [Fact]
    public void UnmapCoversWholeSuperpageAndFreesCoveredTables()
    {
        var f = New(4);
        Assert.Equal(0, f.Map(0x20_0000, 0x8000_0000, 0x20_0000));
        Assert.Equal(0x20_0000UL, f.Unmap(0x20_0000, 0x1000));   // whole superpage, its size reported
        Assert.Equal(0UL, f.Table.IovaToPhys(0x20_0000));
        Assert.Equal(0, f.Table.MapPages(0x40_0000, 0x8000_0000, 0x1000, 512, IommuProt.Read, out _));
        Assert.Equal(4, f.Table.TablePages);
        var g = IommuIotlbGather.Init();
        Assert.Equal(0x20_0000UL, f.Table.UnmapPages(0x40_0000, 0x1000, 512, ref g));   // covers the page table: freed
        Assert.Equal(3, f.Table.TablePages);
        Assert.Equal(1, g.FreedTablePages);
        // A superpage replaces a page table that is in the way (switch_to_super_page()).
        Assert.Equal(0, f.Map(0x60_1000, 0x8000_0000, 0x1000));
        Assert.Equal(0, f.Map(0x60_0000, 0x9000_0000, 0x20_0000));
        Assert.Equal(3, f.Table.TablePages);
        Assert.Equal(0x9000_1000UL, f.Table.IovaToPhys(0x60_1000));
    }
}
