using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu.PageTables;

public sealed class S390ContractTests : IoPgtableContractTests
{
    protected override IoPgtableFormat Format => IoPgtableFormat.S390;
    protected override int RandomOps => 2000;
    protected override int OverlapErrno => 0;             // dma_update_cpu_trans() overwrites
    protected override bool UnmapOfNothingReportsSize => true;

    protected override IEnumerable<IoPgtableConfig> Configs()
    {
        yield return new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = 42, Oas = 64 };           // region-third origin
        yield return new IoPgtableConfig { PgsizeBitmap = ~0xfffUL, Ias = 53, Oas = 64 };         // region-second (narrowed to 4K)
        yield return new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = 64, Oas = 64 };           // region-first
    }
}

/// <summary>
/// Entry values against arch/s390/include/asm/pci_dma.h (Linux 6.15) and the DAT table-entry formats of the
/// z/Architecture Principles of Operation (SA22-7832, "Translation Tables": region-table entry I bit 58, TF 56-57,
/// TT 60-61, TL 62-63; segment-table entry I bit 58, TT 60-61; page-table entry I bit 53, P bit 54 — bit 0 being
/// the most significant, so bit 58 = 0x20, bit 53 = 0x400, bit 54 = 0x200).
/// </summary>
public sealed class S390DescriptorTests
{
    const ulong Pa = 0x8123_4000;

    static PgtableFixture New(int ias = 42) => new(IoPgtableFormat.S390, new IoPgtableConfig { PgsizeBitmap = 0x1000, Ias = ias, Oas = 64 });

    /// <summary>(region-third index, segment index, page index) as calc_rtx()/calc_sx()/calc_px() compute them.</summary>
    static (ulong Rtx, ulong Sx, ulong Px) Index(ulong iova) => ((iova >> 31) & 0x7ff, (iova >> 20) & 0x7ff, (iova >> 12) & 0xff);

    [Fact]
    public void FreshTablesAreFilledWithTheInvalidPatternNotZeros()
    {
        var f = New();
        Assert.Equal(3, f.Config.Levels);
        Assert.Equal(4, f.Table.TablePages);                        // ZPCI_TABLE_SIZE 16 KiB = order 2
        ulong root = f.Table.Root.Value;
        Assert.Equal(0UL, root & 0x3fff);                           // ZPCI_TABLE_ALIGN
        for (ulong i = 0; i < 2048; i++) Assert.Equal(0x20UL, f.U64(root + i * 8));   // ZPCI_TABLE_INVALID
        Assert.Equal(root | 0x800 | 0x4, f.Config.Registers["IOTA"]);            // IOT_ENABLED | key 0 | DT_RT
    }

    [Fact]
    public void RegionSegmentAndPageEntriesOfAReadWriteMapping()
    {
        var f = New();
        ulong iova = 0x1_2345_6000;                                  // rtx 2, sx 0x234, px 0x56
        var (rtx, sx, px) = Index(iova);
        Assert.Equal((2UL, 0x234UL, 0x56UL), (rtx, sx, px));
        Assert.Equal(0, f.Map(iova, Pa, 0x1000));
        ulong root = f.Table.Root.Value;
        ulong rte = f.U64(root + rtx * 8);
        ulong sto = rte & ~0x3fffUL;
        // set_rt_sto() + validate_rt_entry(): origin | ZPCI_TABLE_TYPE_RTX | ZPCI_TABLE_LEN_RTX, valid, unprotected
        Assert.Equal(sto | 0x4 | 0x3, rte);
        for (ulong i = 0; i < 2048; i++) if (i != sx) Assert.Equal(0x20UL, f.U64(sto + i * 8));
        ulong ste = f.U64(sto + sx * 8);
        ulong pto = ste & ~0x7ffUL;
        // set_st_pto() + validate_st_entry(): origin | ZPCI_TABLE_TYPE_SX (0), valid, unprotected
        Assert.Equal(pto, ste);
        Assert.Equal(0UL, pto & 0x7ff);                               // ZPCI_PT_ALIGN
        // dma_update_cpu_trans(ZPCI_PTE_VALID): frame address, invalid and protection bits clear
        Assert.Equal(Pa, f.U64(pto + px * 8));
        for (ulong i = 0; i < 256; i++) if (i != px) Assert.Equal(0x400UL, f.U64(pto + i * 8));   // ZPCI_PTE_INVALID
        Assert.Equal(4 + 4 + 1, f.Table.TablePages);                  // region-third + segment (16 KiB each) + one page table page
        var w = f.Table.Walk(iova + 0x10);
        Assert.True(w.Ok);
        Assert.Equal((Pa + 0x10, 0x1000UL, IommuProt.Read | IommuProt.Write, 3), (w.Phys, w.PageSize, w.Prot, w.DescriptorReads));
    }

    [Fact]
    public void ReadOnlyMappingSetsTheProtectionBitAndUnmapOnlySetsInvalid()
    {
        var f = New();
        ulong iova = 0x4000_0000;
        Assert.Equal(0, f.Map(iova, Pa, 0x1000, IommuProt.Read));
        ulong ptep = PteAddress(f, iova);
        Assert.Equal(Pa | 0x200, f.U64(ptep));                        // ZPCI_TABLE_PROTECTED
        Assert.Equal(IommuProt.Read, f.Table.Walk(iova).Prot);
        Assert.Equal(0x1000UL, f.Unmap(iova, 0x1000));
        // invalidate_pt_entry() keeps the frame address; entry_clr_protected() drops P
        Assert.Equal(Pa | 0x400, f.U64(ptep));
        Assert.Equal(WalkFault.Translation, f.Table.Walk(iova).Fault);
        Assert.Equal(0UL, f.Table.IovaToPhys(iova));
        // a map with neither read nor write is a protected (read-only) entry: the hardware has no "no read"
        Assert.Equal(0, f.Map(iova, Pa, 0x1000, IommuProt.None));
        Assert.Equal(Pa | 0x200, f.U64(ptep));
        // tables stay until the domain goes (dma_cleanup_tables())
        Assert.Equal(0x1000UL, f.Unmap(iova, 0x1000));
        Assert.Equal(9, f.Table.TablePages);
    }

    [Fact]
    public void UnmapOfNothingInvalidatesAnywayAllocatingTheTablesOnTheWay()
    {
        var f = New();
        var t = (IoPgtableS390)f.Table;
        ulong iova = 0x2_0000_0000;
        var g = IommuIotlbGather.Init();
        // s390_iommu_invalidate_trans(): dma_walk_cpu_trans() allocates, the entry is invalidated (WARN_ON_ONCE)
        Assert.Equal(3 * 0x1000UL, f.Table.UnmapPages(iova, 0x1000, 3, ref g));
        Assert.Equal(3, t.InvalidatedInvalid);
        Assert.Equal(9, f.Table.TablePages);
        for (ulong i = 0; i < 3; i++) Assert.Equal(0x400UL, f.U64(PteAddress(f, iova + i * 0x1000)));
        Assert.True(g.IsEmpty);                                      // nothing was mapped: no page gathered by the table
        // a mixed range: mapped pages are unmapped and gathered, the hole in the middle is just invalidated
        Assert.Equal(0, f.Map(iova, Pa, 0x1000));
        Assert.Equal(0, f.Map(iova + 0x2000, Pa + 0x2000, 0x1000));
        g = IommuIotlbGather.Init();
        Assert.Equal(3 * 0x1000UL, f.Table.UnmapPages(iova, 0x1000, 3, ref g));
        Assert.Equal(4, t.InvalidatedInvalid);
        Assert.Equal((Pa | 0x400, 0x400UL, (Pa + 0x2000) | 0x400),
            (f.U64(PteAddress(f, iova)), f.U64(PteAddress(f, iova + 0x1000)), f.U64(PteAddress(f, iova + 0x2000))));
    }

    [Fact]
    public void WalkerRefusesAValidEntryOfTheWrongTableType()
    {
        var f = New();
        Assert.Equal(0, f.Map(0x8000_0000, Pa, 0x1000));
        ulong root = f.Table.Root.Value;
        ulong rte = f.U64(root + 1 * 8);
        // a zeroed region-third entry is valid with type SX: a translation-specification exception, not a miss
        f.Memory.TryWriteU64(new DmaLab.Mm.PhysAddr(root + 5 * 8), 0);
        Assert.Equal(WalkFault.External, f.Table.Walk(5UL << 31).Fault);
        // the same table origin with TT = RSX in a region-third table
        f.Memory.TryWriteU64(new DmaLab.Mm.PhysAddr(root + 1 * 8), (rte & ~0xcUL) | 0x8);
        Assert.Equal(WalkFault.External, f.Table.Walk(0x8000_0000).Fault);
        // a shorter table length than the driver writes
        f.Memory.TryWriteU64(new DmaLab.Mm.PhysAddr(root + 1 * 8), rte & ~0x3UL);
        Assert.Equal(WalkFault.External, f.Table.Walk(0x8000_0000).Fault);
        f.Memory.TryWriteU64(new DmaLab.Mm.PhysAddr(root + 1 * 8), rte);
        Assert.True(f.Table.Walk(0x8000_0000).Ok);
        // beyond ZPCI_TABLE_SIZE_RT
        Assert.Equal(WalkFault.AddressSize, f.Table.Walk(1UL << 42).Fault);
        Assert.Equal(-34, f.Map(1UL << 42, Pa, 0x1000));
    }

    [Theory]
    [InlineData(53, 4, 0x8UL)]   // region-second origin: entries TT = ZPCI_TABLE_TYPE_RSX, IOTA DT_RS
    [InlineData(64, 5, 0xcUL)]   // region-first origin: TT = ZPCI_TABLE_TYPE_RFX, IOTA DT_RF
    public void DeeperOriginsCarryTheirTableTypes(int ias, int levels, ulong type)
    {
        var f = New(ias);
        Assert.Equal(levels, f.Config.Levels);
        ulong root = f.Table.Root.Value;
        Assert.Equal(root | 0x800 | type, f.Config.Registers["IOTA"]);
        Assert.Equal(0, f.Map(0x1000, Pa, 0x1000));
        ulong e = f.U64(root);
        Assert.Equal((e & ~0x3fffUL) | type | 0x3, e);
        // every region level below down to the region-third table: RSX then RTX
        ulong next = e & ~0x3fffUL;
        for (int lvl = 1; lvl < levels - 2; lvl++)
        {
            e = f.U64(next);
            Assert.Equal((e & ~0x3fffUL) | (levels - 2 - lvl == 1 ? 0x4UL : 0x8UL) | 0x3, e);
            next = e & ~0x3fffUL;
        }
        Assert.Equal(Pa + 0x10, f.Table.Walk(0x1010).Phys);
    }

    [Fact]
    public void OnlyFourKilobytePagesNegotiate()
    {
        var f = new PgtableFixture(IoPgtableFormat.S390, new IoPgtableConfig { PgsizeBitmap = 0x4020_1000, Ias = 48, Oas = 64 });
        Assert.Equal(0x1000UL, f.Config.PgsizeBitmap);
        Assert.Equal(4, f.Config.Levels);
        Assert.Throws<ArgumentException>(() => new PgtableFixture(IoPgtableFormat.S390, new IoPgtableConfig { PgsizeBitmap = 0x20_0000, Ias = 42 }));
    }

    static ulong PteAddress(PgtableFixture f, ulong iova)
    {
        var (rtx, sx, px) = Index(iova);
        ulong sto = f.U64(f.Table.Root.Value + rtx * 8) & ~0x3fffUL;
        ulong pto = f.U64(sto + sx * 8) & ~0x7ffUL;
        return pto + px * 8;
    }
}
