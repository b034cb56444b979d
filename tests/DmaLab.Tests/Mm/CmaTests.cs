using CsCheck;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Sim;
using static DmaLab.Tests.Mm.MmTestPlatforms;

namespace DmaLab.Tests.Mm;

public class CmaTests
{
    [Fact]
    public void DefaultAreaIsPlacedTopDownBelowTheDmaLimitAndLentToMovable()
    {
        var m = new MemorySystem(SmallArm64());
        var cma = Assert.IsType<CmaArea>(m.DefaultCma);
        Assert.Equal("reserved", cma.Name);
        Assert.Equal(0x8400_0000UL - 8 * MiB, cma.Base.Value);       // top of DRAM (below the 4 GiB DMA limit), 2 MiB aligned
        Assert.Equal(2048UL, cma.Count);
        // Only movable allocations may borrow CMA pages: with regular memory exhausted, GFP_KERNEL fails.
        var pa = m.PageAllocator;
        while (pa.TryAllocPages(0, Gfp.Kernel | Gfp.NoWarn, out var p)) Assert.False(cma.Range.Contains(p));
        Assert.Equal(2048, pa.Zone(ZoneType.Dma).Buddy.FreeCmaPages);
        Assert.True(pa.TryAllocMovable(0, Gfp.Kernel, out var h));
        Assert.True(cma.Range.Contains(pa.Resolve(h)));
        pa.Validate();
    }

    [Fact]
    public void AllocMigratesMovablePagesAndKeepsTheirBytes()
    {
        var m = new MemorySystem(SmallArm64());
        var pa = m.PageAllocator;
        var cma = m.DefaultCma!;
        // More than half the free memory is CMA once regular memory is mostly used, so movable allocations go there.
        var fill = new List<PhysAddr>();
        for (int i = 0; i < 12; i++) { Assert.True(pa.TryAllocPages(10, Gfp.Kernel, out var f)); fill.Add(f); }
        var handles = new List<MovableHandle>();
        for (int i = 0; i < 64; i++)
        {
            Assert.True(pa.TryAllocMovable(i % 3, Gfp.Kernel, out var h));
            var data = Enumerable.Range(0, 64).Select(j => (byte)(i * 7 + j)).ToArray();
            m.Memory.Write(pa.Resolve(h), data);
            handles.Add(h);
        }
        Assert.Contains(handles, h => cma.Range.Contains(pa.Resolve(h)));
        Assert.Equal(0, cma.Alloc(2048, 0, out var page));        // the whole area: everything borrowed must move
        Assert.Equal(cma.Base, page);
        Assert.True(cma.Stats.PagesMigrated > 0);
        for (int i = 0; i < handles.Count; i++)
        {
            var at = pa.Resolve(handles[i]);
            Assert.False(cma.Range.Contains(at));
            var back = new byte[64];
            m.Memory.Read(at, back);
            Assert.Equal(Enumerable.Range(0, 64).Select(j => (byte)(i * 7 + j)).ToArray(), back);
        }
        pa.Validate();
        Assert.True(cma.Release(page, 2048));
        foreach (var h in handles) pa.FreeMovable(h);
        foreach (var f in fill) pa.FreePages(f, 10);
        pa.Validate();
        Assert.Equal(0, pa.PagesInUse);
    }

    [Fact]
    public void PinnedPageMakesTheRangeBusyAndTheSearchMovesOn()
    {
        var m = new MemorySystem(SmallArm64(cmaSize: 4 * MiB));
        var pa = m.PageAllocator;
        var cma = m.DefaultCma!;
        while (pa.TryAllocPages(0, Gfp.Kernel | Gfp.NoWarn, out _)) { }   // regular memory gone: movable must use CMA
        Assert.True(pa.TryAllocMovable(0, Gfp.Kernel, out var pinned));
        Assert.Equal(cma.Base, pa.Resolve(pinned));                       // CMA lists give the lowest page first
        pa.Pin(pinned);
        // 256 pages aligned to 256: the first candidate [0,256) holds the pinned page → -EBUSY, retry at 256.
        Assert.Equal(0, cma.Alloc(256, 8, out var page));
        Assert.Equal(cma.Base + 256 * PhysAddr.PageSize, page);
        var s = cma.Stats;
        Assert.Equal(1, s.BusyRetries);
        Assert.Equal(1, s.MigrationFailures);
        Assert.Equal(1, s.PinnedPagesHit);
        Assert.Contains(cma.Log, l => l.Contains("is busy, retrying"));
        Assert.Equal(cma.Base, pa.Resolve(pinned));
        // Asking for the whole area can never succeed while the page is pinned.
        Assert.Equal(-Errno.ENOMEM, cma.Alloc(1024, 0, out _));
        pa.Unpin(pinned);
        Assert.True(cma.Release(page, 256));
        pa.Validate();
    }

    [Fact]
    public void BitmapAgreesWithAReferenceModel()
    {
        Gen.Select(Gen.Int[0, 2], Gen.UInt, Gen.Int[1, 60]).Sample((opb, seed, steps) =>
        {
            var m = new MemorySystem(SmallArm64(cmaSize: 4 * MiB, orderPerBit: opb));
            var cma = m.DefaultCma!;
            var rng = new Rng(seed);
            var refBits = new bool[cma.Count >> opb];
            var live = new List<(PhysAddr Page, ulong Count)>();
            for (int i = 0; i < steps; i++)
            {
                if (live.Count > 0 && rng.Chance(0.4))
                {
                    int k = (int)rng.Next((ulong)live.Count);
                    var (pg, n) = live[k];
                    live.RemoveAt(k);
                    Assert.True(cma.Release(pg, n));
                    long first = (long)((pg.Pfn.Value - cma.BasePfn.Value) >> opb);
                    for (long b = first; b < first + (long)((n + (1UL << opb) - 1) >> opb); b++) refBits[b] = false;
                    continue;
                }
                ulong count = (ulong)rng.Next(1, 200);
                int align = rng.Next(0, 7);
                long expect = ReferenceFind(refBits, cma.BasePfn.Value, opb, count, align);
                int ret = cma.Alloc(count, align, out var page, noWarn: true);
                if (expect < 0) { Assert.Equal(-Errno.ENOMEM, ret); continue; }
                Assert.Equal(0, ret);
                Assert.Equal(cma.BasePfn.Value + ((ulong)expect << opb), page.Pfn.Value);
                Assert.Equal(0UL, page.Pfn.Value & ((1UL << align) - 1));
                for (long b = expect; b < expect + (long)((count + (1UL << opb) - 1) >> opb); b++) refBits[b] = true;
                live.Add((page, count));
            }
            for (long b = 0; b < refBits.Length; b++) Assert.Equal(refBits[b], cma.Bitmap.Test(b));
            m.PageAllocator.Validate();
        }, iter: 40, seed: "0N0XIzNsQ0O3");
    }

    /// <summary>Naive reference: the lowest bit index whose page is 2^align aligned with a run of clear bits.</summary>
    static long ReferenceFind(bool[] bits, ulong basePfn, int opb, ulong count, int align)
    {
        long n = (long)((count + (1UL << opb) - 1) >> opb);
        for (long i = 0; i + n <= bits.Length; i++)
        {
            ulong pfn = basePfn + ((ulong)i << opb);
            if (align > opb && (pfn & ((1UL << align) - 1)) != 0) continue;
            bool clear = true;
            for (long j = i; j < i + n && clear; j++) clear = !bits[j];
            if (clear) return i;
        }
        return -1;
    }

    [Fact]
    public void ReusableReservedRegionBecomesAPerDeviceArea()
    {
        var spec = SmallArm64();
        spec.ReservedMemory.Add(new ReservedMemorySpec
        {
            Name = "isp-cma", Size = 6 * MiB, Alignment = 4 * MiB, Compatible = "shared-dma-pool", Reusable = true,
            AllocRanges = { new MemorySpec { Base = 0x8000_0000, Size = 32 * MiB } }, Devices = { "isp" },
        });
        spec.ReservedMemory.Add(new ReservedMemorySpec { Name = "fw", Base = 0x8010_0000, Size = 1 * MiB, NoMap = true });
        var m = new MemorySystem(spec);
        var isp = m.ReservedRegion("isp-cma")!;
        Assert.Equal(0x8000_0000UL + 32 * MiB - 8 * MiB, isp.Base.Value);   // top-down in alloc-ranges, 4 MiB aligned
        Assert.Same(m.CmaArea("isp-cma"), isp.Cma);
        Assert.Equal("reserved", m.DefaultCmaName);
        Assert.False(m.IsMapMemory(new PhysAddr(0x8010_0000)));
        Assert.True(m.Memory.IsDram(new PhysAddr(0x8010_0000)));
        Assert.Null(m.PageAllocator.FindZone(new PhysAddr(0x8010_0000)) is { } z && z.Buddy.FindBlock(0x80100, out _, out _, out _) ? "managed" : null);
        m.PageAllocator.Validate();
    }

    [Fact]
    public void ReserveBootMemoryIsTopDownBelowTheLimit()
    {
        var m = new MemorySystem(SmallArm64(cmaSize: 0));
        var b = m.ReserveBootMemory(4 * MiB, PhysAddr.PageSize, 0x8200_0000, "swiotlb");
        Assert.Equal(0x8200_0000UL - 4 * MiB, b!.Value.Value);
        Assert.Equal(1024, m.PageAllocator.PagesInUse);
        Assert.NotNull(m.ReservedRegion("swiotlb"));
        m.PageAllocator.Validate();
    }
    [Fact]
    public void RandomMovablePressureMigrationKeepsBytesAndNeverMovesPinnedPages()
    {
        Gen.Select(Gen.UInt, Gen.Int[20, 200], Gen.Double[0, 0.1]).Sample((seed, nMovable, pinChance) =>
        {
            var m = new MemorySystem(SmallArm64(cmaSize: 8 * MiB));
            var pa = m.PageAllocator;
            var cma = m.DefaultCma!;
            var rng = new Rng(seed);
            // Leave less regular memory than CMA so movable allocations borrow CMA pages.
            var fill = new List<PhysAddr>();
            while (pa.Zone(ZoneType.Dma).Buddy.FreePages - pa.Zone(ZoneType.Dma).Buddy.FreeCmaPages > 1024
                   && pa.TryAllocPages(8, Gfp.Kernel, out var f)) fill.Add(f);
            var live = new List<(MovableHandle H, byte[] Data, PhysAddr PinnedAt)>();
            for (int i = 0; i < nMovable; i++)
            {
                if (!pa.TryAllocMovable(rng.Next(0, 3), Gfp.Kernel | Gfp.NoWarn, out var h)) break;
                var data = new byte[96];
                for (int j = 0; j < data.Length; j++) data[j] = (byte)rng.NextU64();
                m.Memory.Write(pa.Resolve(h) + (ulong)(i % 7) * 256, data);
                PhysAddr pinnedAt = default;
                if (rng.Chance(pinChance)) { pa.Pin(h); pinnedAt = pa.Resolve(h); }
                live.Add((h, data, pinnedAt));
            }
            var got = new List<(PhysAddr, ulong)>();
            for (int k = 0; k < 6; k++)
            {
                ulong count = (ulong)rng.Next(1, 1024);
                if (cma.Alloc(count, rng.Next(0, 9), out var page, noWarn: true) != 0) continue;
                got.Add((page, count));
                var range = new MemRange(page, count * PhysAddr.PageSize);
                foreach (var (h, _, _) in live)
                    Assert.False(range.Overlaps(new MemRange(pa.Resolve(h), PhysAddr.PageSize << pa.OrderOf(h))), "movable block left inside a CMA allocation");
            }
            for (int i = 0; i < live.Count; i++)
            {
                var (h, data, pinnedAt) = live[i];
                if (pinnedAt != default) Assert.Equal(pinnedAt, pa.Resolve(h));
                var back = new byte[data.Length];
                m.Memory.Read(pa.Resolve(h) + (ulong)(i % 7) * 256, back);
                Assert.Equal(data, back);
            }
            pa.Validate();
            foreach (var (p, n) in got) Assert.True(cma.Release(p, n));
            foreach (var (h, _, pinnedAt) in live) { if (pinnedAt != default) pa.Unpin(h); pa.FreeMovable(h); }
            foreach (var f in fill) pa.FreePages(f, 8);
            Assert.Equal(0, pa.PagesInUse);
            pa.Validate();
        }, iter: 30, seed: "0N0XIzNsQ0O4");
    }
}
