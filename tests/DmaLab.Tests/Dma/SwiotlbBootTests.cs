using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Trace;
using static DmaLab.Tests.Dma.SwiotlbPoolTests;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Dma;

/// <summary>
/// Pool creation and modes (Linux 6.12 kernel/dma/swiotlb.c: setup_io_tlb_npages, swiotlb_adjust_nareas,
/// round_up_default_nslabs, limit_nareas, swiotlb_init_remap, rmem_swiotlb_setup, rmem_swiotlb_device_init,
/// swiotlb_alloc/swiotlb_free; include/trace/events/swiotlb.h).
/// </summary>
public class SwiotlbBootTests
{
    [Theory]
    [InlineData(64UL << 20, 0, 1, 32768UL, 1, false)]      // the golden capture: 1 CPU, "area num 1."
    [InlineData(64UL << 20, 0, 6, 32768UL, 8, false)]      // 6 CPUs -> 8 areas; 32768 is a power of two
    [InlineData(1000UL * 2048, 0, 4, 1024UL, 4, false)]    // swiotlb=1000 -> ALIGN(1000, 128) = 1024
    [InlineData(1100UL * 2048, 0, 4, 2048UL, 4, true)]     // 1152 slots is not a power of two -> 2048
    [InlineData(128UL * 2048, 0, 4, 512UL, 4, true)]       // fewer than one segment per area -> 128 * 4
    [InlineData(64UL << 20, 3, 1, 32768UL, 4, false)]      // swiotlb=,3 -> 4 areas
    public void GeometryFollowsTheBootRules(ulong size, int areas, int cpus, ulong slots, int nareas, bool rounded)
    {
        var g = SwiotlbBoot.Geometry(new SwiotlbSpec { Size = size, Areas = areas }, cpus);
        Assert.Equal((slots, nareas), (g.Slots, g.Areas));
        Assert.Equal($"software IO TLB: area num {nareas}.", g.Messages[0]);
        Assert.Equal(rounded, g.Messages.Any(m => m.Contains("roundup to", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(64UL << 20, 4, 32768UL, 4)]
    [InlineData(3UL << 20, 4, 2048UL, 4)]       // 1536 slots -> 3 MiB -> order 10 (4 MiB) -> 2048 slots
    [InlineData(200UL * 1024, 8, 128UL, 1)]     // 100 slots -> one segment -> 256 KiB -> 128 slots, 1 area fits
    public void LateGeometryIsAPowerOfTwoInPages(ulong size, int cpus, ulong slots, int areas)
    {
        var g = SwiotlbBoot.LateGeometry(size, cpus);
        Assert.Equal((slots, areas), (g.Slots, g.Areas));
    }

    [Fact]
    public void LimitAreasKeepsAWholeSegmentPerArea()
    {
        Assert.Equal(2, Swiotlb.LimitAreas(8, 256));
        Assert.Equal(8, Swiotlb.LimitAreas(8, 1024));
        Assert.Equal(1, Swiotlb.AdjustAreas(0));
        Assert.Equal(8, Swiotlb.AdjustAreas(5));
    }

    [Fact]
    public void ModesDecideWhetherThereIsAPoolAndWhetherItForces()
    {
        var mem = Memory();
        var @base = new PhysAddr(PoolBase);
        Assert.Null(SwiotlbBoot.CreateDefault(mem, new SwiotlbSpec { Mode = "noforce" }, @base, 1, true, out _));
        Assert.Null(SwiotlbBoot.CreateDefault(mem, new SwiotlbSpec { Mode = "auto" }, @base, 1, false, out _));
        var auto = SwiotlbBoot.CreateDefault(mem, new SwiotlbSpec { Mode = "auto", Size = 1 << 20 }, @base, 1, true, out var msgs)!;
        Assert.False(auto.ForceBounce);
        Assert.Equal("software IO TLB: mapped [mem 0x0000000008000000-0x0000000008100000] (1MB)", msgs[^1]);
        var force = SwiotlbBoot.CreateDefault(mem, new SwiotlbSpec { Mode = "force", Size = 1 << 20 }, @base, 1, false, out _)!;
        Assert.True(force.ForceBounce);
        Assert.Equal(SwiotlbPoolKind.Default, force.Kind);
        Assert.Throws<ArgumentException>(() => SwiotlbModes.Parse("sometimes"));
    }

    [Fact]
    public void TracePrintsTheKernelsLineWithForceOrNormal()
    {
        var mem = Memory();
        var sink = new CapturingTraceSink();
        var dev = Dev("0000:00:04.0", 0xfff);
        var forced = Pool(mem, force: true);
        forced.Trace = sink;
        forced.Map(dev, new PhysAddr(0xe7c7000), 4096, DmaDirection.FromDevice, 0, 0);
        var normal = new SwiotlbPool(mem, new MemRange(new PhysAddr(0x0900_0000), 1 << 20), 1) { Trace = sink };
        normal.Map(Dev("0000:00:05.0", maskBits: 32), new PhysAddr(0x0fff_f000), 1522, DmaDirection.ToDevice, 0, 2);
        Assert.Equal(
        [
            (0, "swiotlb", "swiotlb_bounced", "dev_name: 0000:00:04.0 dma_mask=ffffffffffffffff dev_addr=e7c7000 size=4096 FORCE"),
            (2, "swiotlb", "swiotlb_bounced", "dev_name: 0000:00:05.0 dma_mask=ffffffff dev_addr=ffff000 size=1522 NORMAL"),
        ], sink.Events.Select(e => (e.Cpu, e.System, e.Event, e.Fields)).ToArray());
        // Tracing off: nothing formatted, nothing written.
        forced.Trace = NullTraceSink.Instance;
        forced.Map(dev, new PhysAddr(0xe7c7000), 4096, DmaDirection.FromDevice, 0, 0);
        Assert.Equal(2, sink.Events.Count);
    }

    [Fact]
    public void RestrictedPoolIsOneForcedAreaThatAlsoServesAllocations()
    {
        var mem = Memory();
        var rmem = new ReservedMemorySpec { Name = "restricted_dma_reserved", Compatible = "restricted-dma-pool", Base = 0x0a00_0000, Size = 200 * 2048 };
        var pool = SwiotlbBoot.CreateRestricted(mem, rmem);
        Assert.Equal((1, true, true, SwiotlbPoolKind.Restricted), (pool.Areas, pool.ForceBounce, pool.ForAlloc, pool.Kind));
        // 200 slots: the second segment's counters stop at the end of the pool.
        Assert.Equal(72, pool.Slots[128].List);
        Assert.Equal(1, pool.Slots[199].List);

        var a = Dev("wifi");
        var b = Dev("bt");
        SwiotlbBoot.AttachDevices([a, b], null, new Dictionary<string, SwiotlbPool>());
        Assert.Null(a.DmaIoTlbMem);
        Assert.False(Swiotlb.IsActive(a) || Swiotlb.IsForceBounce(a) || Swiotlb.IsForAlloc(a));
        a.Spec.MemoryRegion = b.Spec.MemoryRegion = rmem.Name;
        SwiotlbBoot.AttachDevices([a, b], null, new Dictionary<string, SwiotlbPool> { [rmem.Name] = pool });
        Assert.Same(pool, a.DmaIoTlbMem);
        Assert.Same(a.DmaIoTlbMem, b.DmaIoTlbMem);
        Assert.True(Swiotlb.IsActive(b) && Swiotlb.IsForceBounce(b) && Swiotlb.IsForAlloc(b));

        // swiotlb_alloc(12 KiB): order 2 -> 16 KiB alignment; the next one skips to the next 16 KiB.
        var p1 = pool.Alloc(a, 12 * 1024, 0);
        var p2 = pool.Alloc(b, 4096, 0);
        Assert.Equal(0x0a00_0000UL, p1.Value);
        Assert.Equal(0x0a00_3000UL, p2.Value);     // order 0: page aligned, search resumes after the 6 slots
        Assert.True(Swiotlb.IsSwiotlbBuffer(b, p2) && !Swiotlb.IsSwiotlbBuffer(b, new PhysAddr(0x2000_0000)));
        Assert.True(pool.Free(a, p1, 12 * 1024));
        Assert.False(pool.Free(a, new PhysAddr(0x2000_0000), 4096));
        // Fill the tail of the pool: release next to the pool end must not look past it.
        var tail = pool.TblMapSingle(a, new PhysAddr(0x2000_0000), 100, 0, DmaDirection.ToDevice, 0, 0);
        while (pool.TblMapSingle(a, new PhysAddr(0x2000_0000), 2048, 0, DmaDirection.ToDevice, 0, 0).Value != Swiotlb.MappingErrorPhys) { }
        Assert.True(pool.TblUnmapSingle(a, new PhysAddr(0x0a00_0000 + 199 * 2048), 2048, DmaDirection.ToDevice, 0));
        Assert.Equal(1, pool.Slots[199].List);
        Assert.NotEqual(Swiotlb.MappingErrorPhys, tail.Value);
        Assert.Null(pool.Validate());

        Assert.Throws<ArgumentException>(() => SwiotlbBoot.CreateRestricted(mem, new ReservedMemorySpec { Name = "x", Compatible = "restricted-dma-pool", Base = 0x0a00_0000, Size = 1 << 20, Reusable = true }));
        Assert.Throws<ArgumentException>(() => SwiotlbBoot.CreateRestricted(mem, new ReservedMemorySpec { Name = "x", Compatible = "restricted-dma-pool", Base = 0x0a00_0000, Size = 1 << 20, NoMap = true }));
        Assert.Equal("Reserved memory: created restricted DMA pool at 0x000000000a000000, size 0 MiB", SwiotlbBoot.RestrictedMessage(rmem));
    }

    [Fact]
    public void CmaBackedPoolTakesTheCallersRange()
    {
        var mem = Memory();
        var pool = SwiotlbBoot.CreateFromCma(mem, new MemRange(new PhysAddr(0x1000_0000), 4 << 20), new SwiotlbSpec { Mode = "force", FromCma = true }, 4);
        Assert.Equal((SwiotlbPoolKind.Cma, 2048UL, 4, true), (pool.Kind, pool.TotalSlots, pool.Areas, pool.ForceBounce));
        Assert.Throws<ArgumentException>(() => SwiotlbBoot.CreateFromCma(mem, new MemRange(new PhysAddr(0x1000_0000), 64 * 1024), new SwiotlbSpec(), 1));
        // A range outside DRAM is a configuration error.
        Assert.Throws<ArgumentException>(() => new SwiotlbPool(mem, new MemRange(new PhysAddr(0x8000_0000), 1 << 20), 1));
    }
}
