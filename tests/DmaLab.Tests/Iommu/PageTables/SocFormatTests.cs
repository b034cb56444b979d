using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu.PageTables;

public sealed class OmapContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.Omap;
    protected override int OverlapErrno => 0;
    protected override ulong PartialUnmapResult(ulong block, ulong small) => block;
    protected override bool UnmapFreesAllTables => true;
    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0111_1000, Ias = 32, Oas = 32 };
        yield return new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = 32, Oas = 32 };
    }
}

public sealed class ExynosContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.Exynos;
    protected override int OverlapErrno => -98;
    protected override ulong PaddrBase => 0x8_8000_0000;
    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0011_1000, Ias = 32, Oas = 36 };
    }
}

public sealed class TegraContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.Tegra;
    protected override int OverlapErrno => 0;
    protected override bool UnmapFreesAllTables => true;
    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = 32, Oas = 34 };
    }
}

public sealed class RockchipContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.Rockchip;
    protected override int OverlapErrno => -98;
    protected override ulong PartialUnmapResult(ulong block, ulong small) => small;
    protected override ulong WalkPageSize(ulong pgsize) => 0x1000;
    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x007f_f000, Ias = 32, Oas = 32 };
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0041_1000, Ias = 32, Oas = 32 };
    }
}

/// <summary>Entry values of the SoC formats as their drivers write them (TRM layouts cited on each format struct).</summary>
public sealed class SocDescriptorTests
{
    static PgtableFixture New(IoPgtableFormat f, int oas = 32) => new(f, new IoPgtableConfig { PgsizeBitmap = ~0UL, Ias = 32, Oas = oas });
    static uint L1(PgtableFixture f, ulong iova, int shift) => f.U32(f.Table.Root.Value + (iova >> shift) * 4);

    [Fact]
    public void OmapEntries()
    {
        var f = New(IoPgtableFormat.Omap);
        Assert.Equal(0x0111_1000UL, f.Config.PgsizeBitmap);
        Assert.Equal(f.Table.Root.Value, f.Config.Registers["TTB"]);
        Assert.Equal(0, f.Map(0x1000, 0x8000_1000, 0x1000));
        Assert.Equal(0, f.Map(0x1_0000, 0x8001_0000, 0x1_0000));
        uint pgd = L1(f, 0, 20);
        Assert.Equal(1u, pgd & 0x3ff);
        Assert.Equal(0x8000_1002u, f.U32((pgd & 0xffff_fc00) + 4));           // small page
        for (uint i = 0; i < 16; i++) Assert.Equal(0x8001_0001u, f.U32((pgd & 0xffff_fc00) + (16 + i) * 4));   // large page ×16
        Assert.Equal(0, f.Map(0x10_0000, 0x9000_0000, 0x10_0000));
        Assert.Equal(0x9000_0002u, L1(f, 0x10_0000, 20));                      // section
        Assert.Equal(0, f.Map(0x100_0000, 0xa000_0000, 0x100_0000));
        for (ulong i = 0; i < 16; i++) Assert.Equal(0xa004_0002u, L1(f, 0x100_0000 + i * 0x10_0000, 20));   // supersection ×16
        Assert.Equal(0x1_0000UL, f.Unmap(0x1_4000, 0x1000));                  // whole large page
        Assert.Equal(0x1000UL, f.Unmap(0x1000, 0x1000));
        Assert.Equal(0u, L1(f, 0, 20));                                        // the emptied table went away
        Assert.Equal(4, f.Table.TablePages);
    }

    [Fact]
    public void ExynosV5Entries()
    {
        var f = New(IoPgtableFormat.Exynos, 36);
        Assert.Equal(0x0011_1000UL, f.Config.PgsizeBitmap);
        Assert.Equal(f.Table.Root.Value >> 12, f.Config.Registers["PT_BASE_PFN"]);
        Assert.Equal(0, f.Map(0x1000, 0x8_8000_1000, 0x1000, IommuProt.Read | IommuProt.Write));
        uint lv1 = L1(f, 0, 20);
        Assert.Equal(1u, lv1 & 3);
        ulong lv2 = ((ulong)lv1 & 0xffff_ffc0) << 4;
        Assert.Equal(0x8800_010eu, f.U32(lv2 + 4));                            // pa >> 4 | RW << 2 | small
        Assert.Equal(0, f.Map(0x1_0000, 0x8_8001_0000, 0x1_0000, IommuProt.Write));
        for (uint i = 0; i < 16; i++) Assert.Equal(0x8800_1009u, f.U32(lv2 + (16 + i) * 4));   // write-only large ×16
        Assert.Equal(0, f.Map(0x10_0000, 0x8_9000_0000, 0x10_0000, IommuProt.Read));
        Assert.Equal(0x8900_0012u, L1(f, 0x10_0000, 20));                      // pa >> 4 | R << 4 | section
        Assert.Equal(0x8_9001_2345UL, f.Table.Walk(0x11_2345).Phys);
        Assert.Equal(IommuProt.Read, f.Table.Walk(0x11_2345).Prot);
        Assert.Equal(-98, f.Map(0, 0x8_a000_0000, 0x10_0000));                 // lv2 table in use: -EADDRINUSE
        Assert.Equal(0UL, f.Unmap(0x1_0000, 0x1000));                          // part of a large page: refused
        Assert.Equal(0x1_0000UL, f.Unmap(0x1_0000, 0x1_0000));
        Assert.Equal(0x1000UL, f.Unmap(0x1000, 0x1000));
        Assert.Equal(5, f.Table.TablePages);                                   // lv2 tables stay...
        Assert.Equal(0, f.Map(0, 0x8_a000_0000, 0x10_0000));                   // ...until an empty one is replaced
        Assert.Equal(4, f.Table.TablePages);
    }

    [Fact]
    public void TegraEntries()
    {
        var f = New(IoPgtableFormat.Tegra, 34);
        Assert.Equal(0x1000UL, f.Config.PgsizeBitmap);
        Assert.Equal(f.Table.Root.Value >> 12 | 0xe000_0000, f.Config.Registers["PTB_DATA"]);
        Assert.Equal(0, f.Map(0x40_1000, 0x2_8000_1000, 0x1000, IommuProt.Read | IommuProt.Write));
        uint pde = L1(f, 0x40_0000, 22);
        Assert.Equal(0xf000_0000u, pde & 0xf000_0000);                         // RD | WR | NS | NEXT
        Assert.Equal(0xe028_0001u, f.U32(((ulong)pde & 0x3f_ffff) * 0x1000 + 4));   // RD | WR | NS | pfn
        Assert.Equal(0, f.Map(0x40_1000, 0x8000_0000, 0x1000, IommuProt.Read));   // overwrite
        Assert.Equal(IommuProt.Read, f.Table.Walk(0x40_1000).Prot);
        Assert.Equal(0x1000UL, f.Unmap(0x40_1000, 0x1000));
        Assert.Equal(0u, L1(f, 0x40_0000, 22));                                // page table freed with its last PTE
        Assert.Equal(1, f.Table.TablePages);
    }

    [Fact]
    public void RockchipEntries()
    {
        var f = New(IoPgtableFormat.Rockchip);
        Assert.Equal(0x007f_f000UL, f.Config.PgsizeBitmap);
        Assert.Equal(f.Table.Root.Value, f.Config.Registers["DTE_ADDR"]);
        Assert.Equal(0, f.Map(0x40_0000, 0x8001_0000, 0x1_0000, IommuProt.Read | IommuProt.Write));
        uint dte = L1(f, 0x40_0000, 22);
        Assert.Equal(1u, dte & 0xfff);
        for (uint i = 0; i < 16; i++) Assert.Equal(0x8001_0007u + i * 0x1000, f.U32((dte & 0xffff_f000) + i * 4));
        Assert.Equal(-98, f.Map(0x40_f000, 0x9000_0000, 0x1000));
        Assert.Equal(0x1000UL, f.Unmap(0x40_2000, 0x1000));
        Assert.Equal(0x8001_2006u, f.U32((dte & 0xffff_f000) + 8));            // only VALID cleared
        Assert.Equal(WalkFault.Translation, f.Table.Walk(0x40_2000).Fault);
        Assert.Equal(0x2000UL, f.Unmap(0x40_0000, 0x1_0000));                  // stops at the first invalid PTE
        Assert.Equal(2, f.Table.TablePages);
    }
}
