using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu.PageTables;

public sealed class ArmLpaeS1ContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.ArmLpaeS1;
    protected override int RandomOps => 10_000;

    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 48, Oas = 48 };   // 4K|2M|1G, 4 levels
        yield return new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 32, Oas = 40 };   // 3 levels, 4-entry pgd
        yield return new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 39, Oas = 44 };
        yield return new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = 36, Oas = 36 };        // 4K only
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0200_4000, Ias = 47, Oas = 48 };   // 16K|32M
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0200_4000, Ias = 36, Oas = 40 };
        yield return new IoPgtableConfig { PgsizeBitmap = 0x2001_0000, Ias = 48, Oas = 48 };   // 64K|512M
        yield return new IoPgtableConfig { PgsizeBitmap = 0x2001_0000, Ias = 42, Oas = 42 };
    }
}

public sealed class ArmLpaeS2ContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.ArmLpaeS2;

    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 40, Oas = 40 };   // concatenated level 1
        yield return new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 48, Oas = 48 };
        yield return new IoPgtableConfig { PgsizeBitmap = 0x0200_4000, Ias = 48, Oas = 48 };   // 16K, concatenated
        yield return new IoPgtableConfig { PgsizeBitmap = 0x2001_0000, Ias = 44, Oas = 44 };
    }
}

/// <summary>Descriptor and register values against Arm ARM (DDI 0487) D8.3 descriptors and D19/D17 TCR/VTCR, as io-pgtable-arm.c writes them.</summary>
public sealed class ArmLpaeDescriptorTests
{
    const ulong Pa = 0x8000_0000;

    [Fact]
    public void Stage1Registers()
    {
        var f = new PgtableFixture(IoPgtableFormat.ArmLpaeS1, new IoPgtableConfig { PgsizeBitmap = 0xffff_f000, Ias = 48, Oas = 48 });
        Assert.Equal(0x4020_1000UL, f.Config.PgsizeBitmap);   // narrowed to 4K|2M|1G
        // T0SZ=16, IRGN0=ORGN0=WBWA(1), SH0=inner(3), TG0=4K(0), EPD1, IPS=48-bit(5)
        Assert.Equal(0x5_0080_3510UL, f.Config.Registers["TCR"]);
        Assert.Equal(0xf404ff44UL, f.Config.Registers["MAIR"]);
        Assert.Equal(f.Table.Root.Value, f.Config.Registers["TTBR0"]);
        Assert.Equal(1, f.Table.TablePages);
    }

    [Fact]
    public void Stage1PageAndBlockDescriptorsBitByBit()
    {
        var f = new PgtableFixture(IoPgtableFormat.ArmLpaeS1, new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 48, Oas = 48 });
        Assert.Equal(0, f.Map(0x1000, Pa + 0x1000, 0x1000, IommuProt.Read | IommuProt.Write | IommuProt.Cache));
        // Level 0/1/2 table descriptors: next-level address | 0b11.
        ulong l0 = f.U64(f.Table.Root.Value);
        Assert.Equal(3UL, l0 & 0xfff);
        ulong l1 = f.U64(l0 & ~0xfffUL), l2 = f.U64(l1 & ~0xfffUL);
        Assert.Equal(3UL, l1 & 0xfff);
        ulong page = f.U64((l2 & ~0xfffUL) + 8);
        // page | AttrIndx=1 (WBRWA) | AP[1]=unpriv | SH=inner | AF | nG  (D8.3.1, stage 1 lower attributes)
        Assert.Equal(Pa + 0x1000 | 0x3 | 1 << 2 | 1 << 6 | 3 << 8 | 1 << 10 | 1 << 11, page);
        Assert.Equal(4, f.Table.TablePages);

        Assert.Equal(0, f.Map(0x20_0000, Pa + 0x20_0000, 0x20_0000, IommuProt.Read | IommuProt.NoExec));
        ulong block = f.U64((l1 & ~0xfffUL) + 8);
        // block (0b01) | AttrIndx=0 (NC) | AP[2:1]=RO unpriv | SH=outer | AF | nG | UXN|PXN
        Assert.Equal(0x0060_0000_8020_0EC1UL, block);
        var w = f.Table.Walk(0x20_0000 + 0x1234);
        Assert.Equal(new WalkResult(true, Pa + 0x20_1234, 0x20_0000, IommuProt.Read | IommuProt.NoExec, 3, WalkFault.None), w);
        Assert.Equal(IommuProt.Read | IommuProt.Write | IommuProt.Cache, f.Table.Walk(0x1000).Prot);
        Assert.Equal(4, f.Table.Walk(0x1000).DescriptorReads);

        Assert.Equal(0, f.Map(0x4000_0000, 0x4000_0000, 1UL << 30, IommuProt.Read | IommuProt.Write | IommuProt.Mmio | IommuProt.Priv));
        ulong gblock = f.U64((l0 & ~0xfffUL) + 8);
        // 1G block at level 1: AttrIndx=2 (device), AP=RW privileged
        Assert.Equal(0x4000_0000UL | 1 | 2 << 2 | 2 << 8 | 1 << 10 | 1 << 11, gblock);
    }

    [Fact]
    public void Stage2ConcatenatedRootAndDescriptors()
    {
        var f = new PgtableFixture(IoPgtableFormat.ArmLpaeS2, new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 40, Oas = 40 });
        // 40-bit IPA with 4K granule: level 0 would have 2 entries, so start at level 1 with 2 concatenated tables.
        Assert.Equal(2, f.Table.TablePages);
        // T0SZ=24, SL0=1 (level 1 for 4K), IRGN0/ORGN0 WBWA, SH0 inner, TG0 4K, PS=40-bit(2)
        Assert.Equal(0x2_3558UL, f.Config.Registers["VTCR"]);
        Assert.Equal(f.Table.Root.Value, f.Config.Registers["VTTBR"]);
        ulong iova = 0x80_4000_1000;   // level-1 index 512: lands in the second concatenated table
        Assert.Equal(0, f.Map(iova, Pa, 0x1000, IommuProt.Read | IommuProt.Write | IommuProt.Cache));
        ulong l1 = f.U64(f.Table.Root.Value + 513 * 8);
        Assert.Equal(3UL, l1 & 0xfff);
        ulong l2 = f.U64((l1 & ~0xfffUL) + 0);
        ulong page = f.U64((l2 & ~0xfffUL) + 8);
        // S2AP=RW | MemAttr=0b1111 (outer/inner WB) | SH inner | AF | page   (D8.3.2 stage 2 attributes)
        Assert.Equal(Pa | 3 | 0xf << 2 | 3 << 6 | 3 << 8 | 1 << 10, page);
        Assert.Equal(0, f.Map(0x1000, Pa, 0x1000, IommuProt.Write));
        ulong wo = f.Table.Walk(0x1000).Prot == IommuProt.Write ? 1UL : 0;
        Assert.Equal(1UL, wo);
    }

    [Fact]
    public void GranuleNegotiationAndBadConfigs()
    {
        var c = new IoPgtableConfig { PgsizeBitmap = 0x0200_4000 | 0x2001_0000, Ias = 48, Oas = 48 };
        new PgtableFixture(IoPgtableFormat.ArmLpaeS1, c);
        Assert.Equal(0x0200_4000UL, c.PgsizeBitmap);                // smallest >= 4K offered: 16K granule
        Assert.Equal(2UL << 14, c.Registers["TCR"] & 3UL << 14);     // TG0 = 16K
        Assert.Throws<ArgumentException>(() => new PgtableFixture(IoPgtableFormat.ArmLpaeS1, new IoPgtableConfig { PgsizeBitmap = 0x800, Ias = 48 }));
        Assert.Throws<ArgumentException>(() => new PgtableFixture(IoPgtableFormat.ArmLpaeS1, new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = 48, Oas = 37 }));
        var big = new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = 52, Oas = 52 };
        new PgtableFixture(IoPgtableFormat.ArmLpaeS1, big);
        Assert.Equal(48, big.Ias);
    }

    [Fact]
    public void BlockReplacesTableButPageUnderBlockIsEexist()
    {
        var f = new PgtableFixture(IoPgtableFormat.ArmLpaeS1, new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 39, Oas = 40 });
        Assert.Equal(0, f.Map(0x20_1000, Pa, 0x1000));
        Assert.Equal(3, f.Table.TablePages);
        // A table where the block goes is unmapped and freed first (Linux: arm_lpae_init_pte() -> __arm_lpae_unmap()).
        Assert.Equal(0, f.Map(0x20_0000, Pa, 0x20_0000));
        Assert.Equal(2, f.Table.TablePages);
        Assert.Equal(Pa + 0x1000, f.Table.IovaToPhys(0x20_1000));
        Assert.Single(f.Flush.Walks);
        Assert.Equal(0, f.Map(0x40_0000, Pa, 0x20_0000));
        Assert.Equal(-17, f.Map(0x40_1000, Pa, 0x1000));          // a block is there (Linux: __arm_lpae_map)
        Assert.Equal(0, f.Table.MapPages(0x1000, Pa, 0x1000, 1, IommuProt.None, out ulong m));   // no access: nothing
        Assert.Equal(0UL, m);
        Assert.Equal(0UL, f.Table.IovaToPhys(0x1000));
        Assert.Equal(-34, f.Map(1UL << 39, Pa, 0x1000));          // beyond ias: -ERANGE
    }

    [Fact]
    public void BlockSizedUnmapFreesTheTableAndFlushesTheWalk()
    {
        var f = new PgtableFixture(IoPgtableFormat.ArmLpaeS1, new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 39, Oas = 40 });
        Assert.Equal(0, f.Table.MapPages(0x20_0000, Pa, 0x1000, 4, IommuProt.Read, out _));
        Assert.Equal(3, f.Table.TablePages);
        // 4K unmaps leave the (now empty) level-3 table in place, as the kernel does.
        var g = IommuIotlbGather.Init();
        Assert.Equal(0x1000UL, f.Table.UnmapPages(0x20_0000, 0x1000, 1, ref g));
        Assert.Equal(1, f.Flush.AddPage);
        Assert.Equal((0x20_0000UL, 0x20_0fffUL), (g.Start, g.End));
        Assert.Equal(3, f.Table.TablePages);
        // A 2M unmap over the table entry frees the table whatever it holds.
        Assert.Equal(0x20_0000UL, f.Unmap(0x20_0000, 0x20_0000));
        Assert.Equal(2, f.Table.TablePages);
        Assert.Equal((0x20_0000UL, 0x20_0000UL, 0x1000UL), f.Flush.Walks.Single());
        Assert.Equal(0UL, f.Table.IovaToPhys(0x20_1000));
        Assert.Equal(0UL, f.Unmap(0x20_0000, 0x20_0000));         // nothing left
    }

    [Fact]
    public void PartialBlockUnmapIsRefused()
    {
        // Linux 6.14+ (commit "iommu/io-pgtable-arm: Remove split on unmap behavior"): unmapping part of a block returns 0.
        var f = new PgtableFixture(IoPgtableFormat.ArmLpaeS1, new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 39, Oas = 40 });
        Assert.Equal(0, f.Map(0x20_0000, Pa, 0x20_0000));
        Assert.Equal(0UL, f.Unmap(0x20_1000, 0x1000));
        Assert.Equal(0UL, f.Unmap(0x20_0000, 0x1000));
        Assert.Equal(Pa + 0x1000, f.Table.IovaToPhys(0x20_1000));
    }

    [Fact]
    public void OutOfTablePagesIsEnomem()
    {
        var f = new PgtableFixture(IoPgtableFormat.ArmLpaeS1, new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 48, Oas = 48 });
        f.Pages.Budget = 2;
        Assert.Equal(-12, f.Map(0x1000, Pa, 0x1000));
        Assert.Equal(3, f.Table.TablePages);
        f.Pages.Budget = -1;
        Assert.Equal(0, f.Map(0x1000, Pa, 0x1000));
    }

    [Fact]
    public void WalkerFollowsTheBitsInMemory()
    {
        var f = new PgtableFixture(IoPgtableFormat.ArmLpaeS1, new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 39, Oas = 40 });
        Assert.Equal(0, f.Map(0x1000, Pa, 0x1000));
        ulong l1 = f.U64(f.Table.Root.Value), l2 = f.U64(l1 & ~0xfffUL), pteAddr = (l2 & ~0xfffUL) + 8;
        ulong pte = f.U64(pteAddr);
        f.Memory.TryWriteU64(new(pteAddr), pte ^ 0x2000);        // flip an output-address bit
        Assert.Equal(Pa + 0x2000, f.Table.Walk(0x1000).Phys);
        f.Memory.TryWriteU64(new(pteAddr), pte & ~2UL);           // 0b01 at level 3 is reserved
        Assert.Equal(WalkFault.External, f.Table.Walk(0x1000).Fault);
        f.Memory.TryWriteU64(new(pteAddr), pte & ~1UL);
        Assert.Equal(WalkFault.Translation, f.Table.Walk(0x1000).Fault);
        f.Memory.TryWriteU64(new(f.Table.Root.Value), 0x10_0000_0003);  // table outside DRAM
        Assert.Equal(WalkFault.External, f.Table.Walk(0x1000).Fault);
    }
}
