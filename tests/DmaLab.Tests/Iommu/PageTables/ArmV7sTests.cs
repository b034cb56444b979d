using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu.PageTables;

public sealed class ArmV7sContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.ArmV7s;
    protected override int RandomOps => 3000;

    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0111_1000, Ias = 32, Oas = 32 };
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0011_1000, Ias = 32, Oas = 32 };
        yield return new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = 32, Oas = 32, CoherentWalk = false };
    }
}

public sealed class MsmContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.Msm;

    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0111_1000, Ias = 32, Oas = 32 };   // MSM_IOMMU_PGSIZES
    }
}

/// <summary>Descriptor values against the Arm ARM (DDI 0406C) B3.5.1 short-descriptor formats, as io-pgtable-arm-v7s.c encodes them.</summary>
public sealed class ArmV7sDescriptorTests
{
    static PgtableFixture New(IoPgtableQuirks q = IoPgtableQuirks.None)
        => new(IoPgtableFormat.ArmV7s, new IoPgtableConfig { PgsizeBitmap = ~0UL, Ias = 32, Oas = 32, Quirks = q });

    static ulong L1(PgtableFixture f, ulong iova) => f.U32(f.Table.Root.Value + (iova >> 20) * 4);
    static ulong L2(PgtableFixture f, ulong iova) => f.U32((L1(f, iova) & 0xffff_fc00) + ((iova >> 12) & 0xff) * 4);

    [Fact]
    public void NegotiationAndRegisters()
    {
        var f = New();
        Assert.Equal(0x0111_1000UL, f.Config.PgsizeBitmap);
        Assert.Equal(4, f.Table.TablePages);                       // 16 KiB first level
        Assert.Equal(0UL, f.Table.Root.Value & 0x3fff);            // TTBR0 needs 16 KiB alignment with N = 0
        Assert.Equal(f.Table.Root.Value | 0x6a, f.Config.Registers["TTBR"]);   // S | NOS | IRGN=WBWA | RGN=WBWA
        Assert.Equal(0x800b_8204UL, f.Config.Registers["PRRR"]);
        Assert.Equal(0x4000_4000UL, f.Config.Registers["NMRR"]);
        Assert.Throws<ArgumentException>(() => new PgtableFixture(IoPgtableFormat.ArmV7s, new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = 33, Oas = 32 }));
    }

    [Fact]
    public void SmallPageAndSectionBitByBit()
    {
        var f = New();
        Assert.Equal(0, f.Map(0x1000, 0x8000_1000, 0x1000, IommuProt.Read | IommuProt.Write | IommuProt.Cache));
        Assert.Equal(0x1UL, L1(f, 0x1000) & 0x3ff);                // page-table descriptor, domain 0
        // small page 0b1x | B | C | AP0(AF) | AP1 | TEX=001 | S | nG
        Assert.Equal(0x8000_1000UL | 0xc7e, L2(f, 0x1000));
        Assert.Equal(0, f.Map(0x0010_0000, 0x9000_0000, 0x10_0000, IommuProt.Read | IommuProt.NoExec));
        // section 0b10 | XN[4] | AP0 | AP1 | TEX=001 | AP2 (read-only) | S | nG
        Assert.Equal(0x9000_0000UL | 0x39c12, L1(f, 0x0010_0000));
        var w = f.Table.Walk(0x0012_3456);
        Assert.Equal(new WalkResult(true, 0x9002_3456, 0x10_0000, IommuProt.Read | IommuProt.NoExec, 1, WalkFault.None), w);
        Assert.Equal(2, f.Table.Walk(0x1234).DescriptorReads);
    }

    [Fact]
    public void LargePageAndSupersectionAreSixteenCopies()
    {
        var f = New();
        Assert.Equal(0, f.Map(0x0001_0000, 0x8001_0000, 0x1_0000, IommuProt.Read | IommuProt.Write | IommuProt.NoExec));
        // large page 0b01 | AP0 | AP1 | S | nG | TEX=001 at [14:12] | XN at 15
        for (ulong i = 0; i < 16; i++) Assert.Equal(0x8001_0000UL | 0x9c31, L2(f, 0x0001_0000 + i * 0x1000));
        Assert.Equal(0UL, L2(f, 0x0002_0000));
        Assert.Equal(0, f.Map(0x0100_0000, 0xa000_0000, 0x100_0000, IommuProt.Read | IommuProt.Write | IommuProt.Cache));
        for (ulong i = 0; i < 16; i++) Assert.Equal(0xa000_0000UL | 0x71c0e, L1(f, 0x0100_0000 + i * 0x10_0000));
        Assert.Equal(0xa0ab_cdefUL, f.Table.IovaToPhys(0x01ab_cdef));
        Assert.Equal(0x100_0000UL, f.Table.Walk(0x01ab_cdef).PageSize);
        Assert.Equal(IommuProt.Read | IommuProt.Write | IommuProt.NoExec, f.Table.Walk(0x0001_f000).Prot);
        // Partial unmap of either is refused (Linux 6.14: "iommu/io-pgtable-arm-v7s: Remove split on unmap behavior").
        Assert.Equal(0UL, f.Unmap(0x0001_1000, 0x1000));
        Assert.Equal(0UL, f.Unmap(0x0110_0000, 0x10_0000));
        Assert.Equal(0x100_0000UL, f.Unmap(0x0100_0000, 0x100_0000));
        for (ulong i = 0; i < 16; i++) Assert.Equal(0UL, L1(f, 0x0100_0000 + i * 0x10_0000));
    }

    [Fact]
    public void SectionReplacesSecondLevelTable()
    {
        // arm_v7s_init_pte(): a table where a section goes is unmapped and freed first.
        var f = New();
        Assert.Equal(0, f.Map(0x0030_0000, 0x8000_0000, 0x1000));
        Assert.Equal(5, f.Table.TablePages);
        Assert.Equal(0, f.Map(0x0030_0000, 0x8800_0000, 0x10_0000));
        Assert.Equal(4, f.Table.TablePages);
        Assert.Equal(0x8800_0000UL, f.Table.IovaToPhys(0x0030_0000));
        Assert.Equal((0x0030_0000UL, 0x10_0000UL, 0x1000UL), f.Flush.Walks.Single());
        Assert.Equal(-17, f.Map(0x0030_1000, 0x8000_0000, 0x1000));
    }

    [Fact]
    public void NoPermsAndNsQuirks()
    {
        var f = New(IoPgtableQuirks.NoPerms | IoPgtableQuirks.ArmNs);
        Assert.Equal(0, f.Map(0x0010_0000, 0x9000_0000, 0x10_0000, IommuProt.Read | IommuProt.NoExec));
        // no AP bits and no XN without permissions; NS in bit 19 of a section
        Assert.Equal(0x9000_0000UL | (0xc4u << 10) | 2 | 1u << 19, L1(f, 0x0010_0000));
        Assert.Equal(0, f.Map(0x1000, 0x8000_0000, 0x1000));
        Assert.Equal(0x9UL, L1(f, 0x1000) & 0x3ff);                // table | NS
    }
}
