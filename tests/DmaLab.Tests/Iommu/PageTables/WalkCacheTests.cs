using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu.PageTables;

/// <summary>
/// The software cache of last-level tables must never hand out a table that was freed: after a block-sized unmap
/// (LPAE) or a covering unmap (VT-d) drops the table under a span, the next map there builds a fresh table and the
/// hardware walk agrees with every result.
/// </summary>
public sealed class WalkCacheTests
{
    const ulong Pa = 0x8000_0000, TwoMiB = 0x20_0000;

    [Theory]
    [InlineData(IoPgtableFormat.ArmLpaeS1, 0x4020_1000UL, 48)]
    [InlineData(IoPgtableFormat.IntelSecondLevel, 0x4020_1000UL, 48)]
    public void FreedLastLevelTableIsNeverReused(IoPgtableFormat format, ulong bitmap, int ias)
    {
        var f = new PgtableFixture(format, new IoPgtableConfig { PgsizeBitmap = bitmap, Ias = ias, Oas = 48 });
        const ulong iova = 0x4000_0000 + 0x3000;
        Assert.Equal(0, f.Map(iova, Pa, 0x1000));
        long withTable = f.Table.TablePages;

        // A 2 MiB unmap over the span frees the last-level table (and what it mapped).
        ulong blockBase = iova & ~(TwoMiB - 1);
        Assert.Equal(TwoMiB, f.Unmap(blockBase, TwoMiB));
        Assert.Equal(withTable - 1, f.Table.TablePages);
        Assert.Equal(0UL, f.Table.IovaToPhys(iova));

        // Something else takes the freed page (it is the allocator's again), then the span is mapped anew.
        Assert.True(f.Pages.TryAllocPages(0, DmaLab.Mm.Gfp.Zero, out var reused));
        var before = new ulong[512];
        for (int i = 0; i < 512; i++) before[i] = f.U64(reused.Value + (ulong)i * 8);
        Assert.Equal(0, f.Map(iova + 0x1000, Pa + 0x5000, 0x1000));
        Assert.Equal(withTable, f.Table.TablePages);
        Assert.Equal(Pa + 0x5000, f.Table.IovaToPhys(iova + 0x1000));
        Assert.Equal(Pa + 0x5000, f.Table.Walk(iova + 0x1000).Phys);
        // Nothing was written into the page the allocator handed out to someone else.
        for (int i = 0; i < 512; i++) Assert.Equal(before[i], f.U64(reused.Value + (ulong)i * 8));

        // A block now sits where a table was: a 4K unmap inside it is refused by LPAE, and mapping a block over
        // the span's new table is rejected or replaces it by the format's rule, never through a stale table.
        Assert.Equal(0x1000UL, f.Unmap(iova + 0x1000, 0x1000));
        Assert.Equal(0, f.Map(blockBase, Pa + TwoMiB * 4, TwoMiB));
        Assert.Equal(Pa + TwoMiB * 4 + 0x1000, f.Table.Walk(blockBase + 0x1000).Phys);
        Assert.Equal(Pa + TwoMiB * 4 + 0x1000, f.Table.IovaToPhys(blockBase + 0x1000));
    }
}
