using System.Numerics;
using DmaLab.Iommu.PageTables;
using DmaLab.Sim;

namespace DmaLab.Tests.Iommu.PageTables;

/// <summary>
/// The io-pgtable contract, run against every format across its page-size sets and address widths
/// (after the selftests in io-pgtable-arm.c / io-pgtable-arm-v7s.c: empty table, each size, overlapping map,
/// partial unmap and remap, full unmap; plus a seeded random sequence checked against a reference dictionary).
/// A derived class supplies the format, its configurations and the format's documented semantics.
/// </summary>
public abstract class IoPgtableContractTests
{
    protected abstract IoPgtableFormat Format { get; }
    /// <summary>Fresh configurations (each page-size set × address width the format supports).</summary>
    protected abstract IEnumerable<IoPgtableConfig> Configs();
    /// <summary>Random ops for the first configuration; the others get a tenth.</summary>
    protected virtual int RandomOps => 1000;
    /// <summary>Errno of an overlapping map, or 0 where the format overwrites (AMD v1, Tegra, OMAP).</summary>
    protected virtual int OverlapErrno => -17;
    /// <summary>Bytes a partial unmap of <paramref name="block"/> by <paramref name="small"/> returns: 0 or the block.</summary>
    protected virtual ulong PartialUnmapResult(ulong block, ulong small) => 0;
    /// <summary>Whether unmapping every page gives every table but the root back by itself (OMAP, Tegra: freed when empty).</summary>
    protected virtual bool UnmapFreesAllTables => false;
    /// <summary>Page size the walker reports for a mapping of <paramref name="pgsize"/>.</summary>
    protected virtual ulong WalkPageSize(ulong pgsize) => pgsize;
    /// <summary>What unmapping an address with nothing mapped returns: 0 (io-pgtable), or the size asked for where the
    /// format invalidates whatever is there (s390 s390_iommu_invalidate_trans()).</summary>
    protected virtual bool UnmapOfNothingReportsSize => false;
    /// <summary>Output address for test mappings (inside oas).</summary>
    protected virtual ulong PaddrBase => 0x8000_0000;

    static IEnumerable<ulong> Sizes(ulong bitmap)
    {
        for (int i = 0; i < 64; i++) if (((bitmap >> i) & 1) != 0) yield return 1UL << i;
    }

    static string Geometry(IoPgtableConfig c) => $"pgsize_bitmap=0x{c.PgsizeBitmap:x} ias={c.Ias} oas={c.Oas} levels={c.Levels}";

    PgtableFixture New(IoPgtableConfig c) => new(Format, c);

    /// <summary>Spacing between the per-size test mappings: the largest size, at least 16M (as the kernel selftests).</summary>
    static ulong Stride(IoPgtableConfig c)
    {
        ulong largest = 1UL << (63 - BitOperations.LeadingZeroCount(c.PgsizeBitmap));
        ulong wanted = 1UL << 24;
        if (c.Ias < 64)
        {
            ulong share = (1UL << c.Ias) / (ulong)(BitOperations.PopCount(c.PgsizeBitmap) + 1);
            wanted = Math.Min(wanted, share == 0 ? 0 : 1UL << (63 - BitOperations.LeadingZeroCount(share)));
        }
        return Math.Max(largest, wanted);
    }

    static IEnumerable<ulong> TestableSizes(IoPgtableConfig c)
        => Sizes(c.PgsizeBitmap).Where(s => Stride(c) * (ulong)BitOperations.PopCount(c.PgsizeBitmap) <= (c.Ias >= 64 ? ulong.MaxValue : 1UL << c.Ias));

    [Fact]
    public void EmptyTableTranslatesNothing()
    {
        foreach (var c in Configs())
        {
            var f = New(c);
            Assert.True(f.Table.TablePages > 0, Geometry(c));
            Assert.Equal(f.Pages.PagesInUse, f.Table.TablePages);
            foreach (ulong iova in new ulong[] { 42, (1UL << 30) + 42, (1UL << 31) + 42 })
            {
                if (iova >> c.Ias != 0) continue;
                Assert.Equal(0UL, f.Table.IovaToPhys(iova));
                var w = f.Table.Walk(iova);
                Assert.False(w.Ok, Geometry(c));
                Assert.Equal(WalkFault.Translation, w.Fault);
                Assert.True(w.DescriptorReads >= 1);
            }
            if (c.Ias < 64) Assert.Equal(WalkFault.AddressSize, f.Table.Walk(1UL << c.Ias).Fault);
        }
    }

    [Fact]
    public void EachSizeMapsTranslatesAndRefusesOverlap()
    {
        foreach (var c in Configs())
        {
            var f = New(c);
            ulong iova = 0, stride = Stride(c);
            foreach (ulong size in TestableSizes(c))
            {
                ulong pa = PaddrBase + iova;
                Assert.True(f.Map(iova, pa, size) == 0, $"map 0x{size:x} {Geometry(c)}");
                Assert.Equal(pa + 42, f.Table.IovaToPhys(iova + 42));
                Assert.Equal(pa + size - 1, f.Table.IovaToPhys(iova + size - 1));
                var w = f.Table.Walk(iova + 42);
                Assert.True(w.Ok, $"walk 0x{size:x} {Geometry(c)}");
                Assert.Equal(pa + 42, w.Phys);
                Assert.Equal(WalkPageSize(size), w.PageSize);
                Assert.True((w.Prot & IommuProt.Read) != 0);

                int rc = f.Map(iova, pa + size, size, IommuProt.Read);
                Assert.Equal(OverlapErrno, rc);
                if (rc == 0) Assert.True(f.Map(iova, pa, size) == 0);
                Assert.Equal(pa + 42, f.Table.IovaToPhys(iova + 42));
                iova += stride;
            }
            // Bad sizes and alignment are -EINVAL.
            ulong small = c.PgsizeBitmap & (0 - c.PgsizeBitmap);
            Assert.Equal(-22, f.Map(iova + small / 2, PaddrBase, small));
            Assert.Equal(-22, f.Map(iova, PaddrBase + 8, small));
            Assert.Equal(-22, f.Map(iova, PaddrBase, small * 3));
            Assert.Equal(-22, f.Map(iova, PaddrBase, small >> 1));
            Assert.Equal(f.Pages.PagesInUse, f.Table.TablePages);
        }
    }

    [Fact]
    public void PartialUnmapThenRemap()
    {
        foreach (var c in Configs())
        {
            var f = New(c);
            var sizes = TestableSizes(c).ToArray();
            ulong small = sizes[0], iova = 0, stride = Stride(c);
            foreach (ulong size in sizes)
            {
                Assert.Equal(0, f.Map(iova, PaddrBase + iova, size));
                iova += stride;
            }
            iova = 0;
            foreach (ulong size in sizes)
            {
                if (size > small)
                {
                    ulong expect = PartialUnmapResult(size, small);
                    Assert.True(expect == f.Unmap(iova + small, small), $"partial unmap of 0x{size:x} {Geometry(c)}");
                    if (expect == 0)
                        Assert.Equal(PaddrBase + iova + small + 42, f.Table.IovaToPhys(iova + small + 42));
                    else
                    {
                        Assert.Equal(0UL, f.Table.IovaToPhys(iova + small + 42));
                        if (expect == small) Assert.Equal(PaddrBase + iova + 42, f.Table.IovaToPhys(iova + 42));
                        Assert.Equal(0, f.Map(iova + small, small, small, IommuProt.Read));
                        Assert.Equal(small + 42, f.Table.IovaToPhys(iova + small + 42));
                        Assert.Equal(small, f.Unmap(iova + small, small));
                    }
                }
                iova += stride;
            }
            Assert.Equal(f.Pages.PagesInUse, f.Table.TablePages);
        }
    }

    /// <summary>One MapPages call over many pages that crosses leaf-table boundaries builds exactly the tables and
    /// translations that mapping the same pages one call at a time does.</summary>
    [Fact]
    public void MultiPageMapAcrossTablesMatchesPageByPage()
    {
        foreach (var (c, cRef) in Configs().Zip(Configs()))
        {
            ulong size = Sizes(c.PgsizeBitmap).First();
            const ulong Count = 1100;
            // Start three pages below a boundary every table of up to 8192 entries has.
            ulong start = (size << 13) - 3 * size;
            if (c.Ias < 64 && start + Count * size > 1UL << c.Ias) continue;
            var one = New(c);
            var each = New(cRef);
            Assert.Equal(0, one.Table.MapPages(start, PaddrBase, size, Count, IommuProt.Read | IommuProt.Write, out ulong mapped));
            Assert.Equal(Count * size, mapped);
            for (ulong i = 0; i < Count; i++)
                Assert.Equal(0, each.Table.MapPages(start + i * size, PaddrBase + i * size, size, 1, IommuProt.Read | IommuProt.Write, out _));
            Assert.True(each.Table.TablePages == one.Table.TablePages, $"table pages differ {Geometry(c)}");
            for (ulong i = 0; i < Count; i++)
            {
                ulong iova = start + i * size + 8;
                Assert.Equal(PaddrBase + i * size + 8, one.Table.IovaToPhys(iova));
                Assert.Equal(each.Table.Walk(iova), one.Table.Walk(iova));
            }
            // Unmapping all but the first page in one call clears exactly those pages (a covering unmap may also
            // give whole tables back, so the table count is checked against the allocator, not the other fixture).
            var g = IommuIotlbGather.Init();
            Assert.Equal((Count - 1) * size, one.Table.UnmapPages(start + size, size, Count - 1, ref g));
            Assert.Equal(PaddrBase + 8, one.Table.IovaToPhys(start + 8));
            for (ulong i = 1; i < Count; i++) Assert.Equal(0UL, one.Table.IovaToPhys(start + i * size + 8));
            Assert.Equal(one.Pages.PagesInUse, one.Table.TablePages);
            one.Table.Free();
            Assert.Equal(0, one.Pages.PagesInUse);
        }
    }

    [Fact]
    public void FullUnmapRemapAndFreeGiveEveryPageBack()
    {
        foreach (var c in Configs())
        {
            var f = New(c);
            long initial = f.Table.TablePages;
            ulong iova = 0, stride = Stride(c);
            var sizes = TestableSizes(c).ToArray();
            // Small pages in the stride after the per-size mappings, when the input space has room for it.
            ulong smallBase = stride * (ulong)sizes.Length;
            bool smalls = c.Ias >= 64 || smallBase + stride <= 1UL << c.Ias;
            foreach (ulong size in sizes)
            {
                Assert.Equal(0, f.Map(iova, PaddrBase + iova, size));
                if (smalls)
                {
                    Assert.Equal(0, f.Table.MapPages(smallBase + iova / stride * 8 * sizes[0], PaddrBase, sizes[0], 3, IommuProt.Read, out ulong m));
                    Assert.Equal(3 * sizes[0], m);
                }
                iova += stride;
            }
            iova = 0;
            foreach (ulong size in sizes)
            {
                Assert.Equal(size, f.Unmap(iova, size));
                Assert.Equal(0UL, f.Table.IovaToPhys(iova + 42));
                Assert.Equal(UnmapOfNothingReportsSize ? size : 0UL, f.Unmap(iova, size));
                if (smalls)
                {
                    var g = IommuIotlbGather.Init();
                    Assert.Equal(3 * sizes[0], f.Table.UnmapPages(smallBase + iova / stride * 8 * sizes[0], sizes[0], 3, ref g));
                    Assert.False(g.IsEmpty);
                }
                Assert.Equal(0, f.Map(iova, PaddrBase + iova, size, IommuProt.Write));
                Assert.Equal(PaddrBase + iova + 42, f.Table.IovaToPhys(iova + 42));
                Assert.Equal(size, f.Unmap(iova, size));
                iova += stride;
            }
            if (UnmapFreesAllTables) Assert.True(initial == f.Table.TablePages, $"tables left after unmap-all {Geometry(c)}");
            Assert.Equal(f.Pages.PagesInUse, f.Table.TablePages);
            f.Table.Free();
            Assert.Equal(0, f.Pages.PagesInUse);
        }
    }

    [Fact]
    public void RandomOpsAgreeWithReference()
    {
        bool first = true;
        foreach (var c in Configs())
        {
            RunRandom(c, first ? RandomOps : Math.Max(100, RandomOps / 10), 0x5eed ^ (ulong)c.PgsizeBitmap ^ (ulong)c.Ias);
            first = false;
        }
    }

    void RunRandom(IoPgtableConfig c, int ops, ulong seed)
    {
        var f = New(c);
        var rng = new Rng(seed);
        var sizes = Sizes(c.PgsizeBitmap).ToArray();
        ulong space = c.Ias >= 64 ? ulong.MaxValue : 1UL << c.Ias;
        // Keep the window small enough that mappings collide but large enough for a few of the biggest blocks.
        ulong window = Math.Min(space, Math.Max(sizes[^1] * 8, sizes[0] * 4096));
        sizes = sizes.Where(s => s * 4 <= window).ToArray();
        var live = new SortedDictionary<ulong, (ulong Pa, ulong Size)>();

        bool Overlaps(ulong iova, ulong size)
        {
            foreach (var kv in live)
            {
                if (kv.Key >= iova + size) break;
                if (kv.Key + kv.Value.Size > iova) return true;
            }
            return false;
        }

        for (int op = 0; op < ops; op++)
        {
            bool doMap = live.Count == 0 || rng.NextU64() % 100 < 60;
            if (doMap)
            {
                ulong size = rng.NextU64() % 100 < 70 ? sizes[0] : sizes[(int)(rng.NextU64() % (ulong)sizes.Length)];
                ulong iova = rng.NextU64() % (window / size) * size;
                ulong slots = Math.Max(1, Math.Min(4096UL, (1UL << Math.Min(c.Oas, 40)) / size));
                ulong pa = rng.NextU64() % slots * size;
                bool overlap = Overlaps(iova, size);
                if (overlap && OverlapErrno == 0) continue;   // overwriting formats: covered by their own tests
                int rc = f.Map(iova, pa, size, IommuProt.Read | IommuProt.Write);
                if (overlap)
                {
                    // v7s/VT-d replace a table under a new block even when it holds pages (their kernel behaviour);
                    // only a refusal or a success that we then mirror is acceptable.
                    if (rc == 0)
                    {
                        foreach (var k in live.Keys.Where(k => k < iova + size && k + live[k].Size > iova).ToList()) live.Remove(k);
                        live[iova] = (pa, size);
                    }
                    else Assert.Equal(OverlapErrno, rc);
                }
                else
                {
                    Assert.True(rc == 0, $"op {op}: map 0x{iova:x}+0x{size:x} rc={rc} {Geometry(c)}");
                    live[iova] = (pa, size);
                }
                CheckOne(f, iova, live, c, op);
            }
            else if (rng.NextU64() % 10 == 0)
            {
                ulong iova = rng.NextU64() % (window / sizes[0]) * sizes[0];
                if (Overlaps(iova, sizes[0])) continue;
                Assert.Equal(UnmapOfNothingReportsSize ? sizes[0] : 0UL, f.Unmap(iova, sizes[0]));
            }
            else
            {
                int pick = (int)(rng.NextU64() % (ulong)live.Count);
                var (iova, m) = live.ElementAt(pick);
                Assert.True(m.Size == f.Unmap(iova, m.Size), $"op {op}: unmap 0x{iova:x}+0x{m.Size:x} {Geometry(c)}");
                live.Remove(iova);
                Assert.Equal(0UL, f.Table.IovaToPhys(iova));
            }
            if (op % 500 == 499 || op == ops - 1)
            {
                foreach (var (iova, m) in live)
                {
                    ulong off = (iova * 2654435761UL) % m.Size & ~7UL;
                    Assert.Equal(m.Pa + off, f.Table.IovaToPhys(iova + off));
                    var w = f.Table.Walk(iova + off);
                    Assert.True(w.Ok && w.Phys == m.Pa + off, $"walk 0x{iova + off:x} {Geometry(c)}");
                }
                for (int p = 0; p < 64; p++)
                {
                    ulong probe = rng.NextU64() % window & ~7UL;
                    if (Overlaps(probe, 1)) continue;
                    Assert.Equal(0UL, f.Table.IovaToPhys(probe));
                    Assert.False(f.Table.Walk(probe).Ok);
                }
                Assert.Equal(f.Pages.PagesInUse, f.Table.TablePages);
            }
        }
        f.Table.Free();
        Assert.Equal(0, f.Pages.PagesInUse);
    }

    static void CheckOne(PgtableFixture f, ulong iova, SortedDictionary<ulong, (ulong Pa, ulong Size)> live, IoPgtableConfig c, int op)
    {
        if (!live.TryGetValue(iova, out var m)) return;
        Assert.True(m.Pa + m.Size - 8 == f.Table.IovaToPhys(iova + m.Size - 8), $"op {op}: 0x{iova:x} {Geometry(c)}");
    }
}
