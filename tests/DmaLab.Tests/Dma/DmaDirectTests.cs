using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.Dma;

public class DmaDirectTests
{
    const ulong MiB = DmaTestMachine.MiB, GiB = DmaTestMachine.GiB;

    [Fact]
    public void Dma_ranges_translate_each_region_with_its_offset_and_reject_holes()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var dev = m.Device("pcie", 64, true,
            new DmaRangeSpec { BusAddr = 0, CpuAddr = 2 * GiB, Size = 256 * MiB },
            new DmaRangeSpec { BusAddr = 0x4000_0000, CpuAddr = 8 * GiB, Size = 256 * MiB });
        Assert.Equal(0x1234UL, DmaDirectOps.PhysToDma(dev, new PhysAddr(2 * GiB + 0x1234)).Value);
        Assert.Equal(0x4000_0010UL, DmaDirectOps.PhysToDma(dev, new PhysAddr(8 * GiB + 0x10)).Value);
        Assert.True(DmaDirectOps.PhysToDma(dev, new PhysAddr(4 * GiB)).IsError);
        Assert.Equal(8 * GiB + 0x10, DmaDirectOps.DmaToPhys(dev, new DmaAddr(0x4000_0010)).Value);
        Assert.Equal(0x4000_0000UL + 256 * MiB - 1, dev.BusDmaLimit);
        var dma = m.Api.MapPage(0, dev, new PhysAddr(8 * GiB + 0x2000), 4096, DmaDirection.ToDevice);
        Assert.Equal(0x4000_2000UL, dma.Value);
    }

    [Fact]
    public void Unreachable_address_without_swiotlb_is_mapping_error_not_exception()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var dev = m.Device("emmc", 32, true);
        var hi = m.Pages(0);                                 // Normal zone: above 4 GiB
        Assert.True(hi.Value >= 8 * GiB);
        var dma = m.Api.MapPage(0, dev, hi, 4096, DmaDirection.ToDevice);
        Assert.True(m.Api.MappingError(dev, dma));
        Assert.Contains(m.Ops.Findings, f => f.Kind == "dma-addr-overflow");
    }

    [Fact]
    public void Mask_above_4g_bounces_through_swiotlb_and_round_trips_bytes()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var dev = m.Device("usb", 32, false);
        var pool = new SwiotlbPool(m.Mem.Memory, new MemRange(new PhysAddr(2 * GiB + 128 * MiB), 4 * MiB), 1);
        dev.DmaIoTlbMem = pool;
        var hi = m.Pages(0);
        m.Cache.CpuWrite(hi, [1, 2, 3, 4]);
        var dma = m.Api.MapPage(0, dev, hi, 4, DmaDirection.Bidirectional);
        Assert.False(dma.IsError);
        Assert.True(pool.IsSwiotlbBuffer(new PhysAddr(dma.Value)));
        var seen = new byte[4];
        m.Cache.DeviceRead(dev.Name, false, new PhysAddr(dma.Value), seen);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, seen);
        m.Cache.DeviceWrite(dev.Name, false, new PhysAddr(dma.Value), [9, 8, 7, 6]);
        m.Api.UnmapPage(0, dev, dma, 4, DmaDirection.Bidirectional);
        m.Cache.CpuRead(hi, seen);
        Assert.Equal(new byte[] { 9, 8, 7, 6 }, seen);
        Assert.Empty(m.Cache.Findings);
        Assert.DoesNotContain(m.Debug.Findings, f => f.Kind != "map-error-not-checked");
    }

    [Fact]
    public void Coherent_alloc_retries_dma32_when_normal_memory_is_not_addressable()
    {
        var m = new DmaTestMachine(DmaTestMachine.X86());
        var dev = m.Device("legacy33", 33, true);             // 8 GiB - 1: Normal (>= 8 GiB) is out of reach
        var p = m.Ops.AllocDirectPages(dev, 8192, Gfp.Kernel, 0);
        Assert.NotNull(p);
        Assert.Equal(new[] { Gfp.None, Gfp.Dma32 }, m.Ops.LastZoneAttempts);
        Assert.True(p!.Value.Value < 4 * GiB);
    }

    [Fact]
    public void Coherent_alloc_for_24_bit_mask_starts_in_zone_dma()
    {
        var m = new DmaTestMachine(DmaTestMachine.X86());
        var dev = m.Device("isa", 24, true);
        var p = m.Ops.AllocDirectPages(dev, 4096, Gfp.Kernel, 0);
        Assert.Equal(new[] { Gfp.Dma }, m.Ops.LastZoneAttempts);
        Assert.True(p!.Value.Value < 16 * MiB);
    }

    [Fact]
    public void Coherent_alloc_retries_dma_after_dma32_when_still_unaddressable()
    {
        var m = new DmaTestMachine(DmaTestMachine.X86());
        var dev = m.Device("odd", 64, true);
        dev.CoherentDmaMask = 20 * MiB - 1;                   // above ZONE_DMA (16 MiB) but below most of DMA32
        // Fill the low part of DMA32 so the buddy hands out DMA32 pages above 20 MiB.
        var held = new List<PhysAddr>();
        while (m.Mem.PageAllocator.TryAllocPages(0, Gfp.Kernel | Gfp.Dma32 | Gfp.NoWarn, out var q) && q.Value < 20 * MiB) held.Add(q);
        var p = m.Ops.AllocDirectPages(dev, 4096, Gfp.Kernel, 0);
        Assert.Equal(new[] { Gfp.Dma32, Gfp.Dma }, m.Ops.LastZoneAttempts);
        Assert.True(p!.Value.Value < 16 * MiB);
    }

    [Fact]
    public void Large_blocking_coherent_alloc_comes_from_cma_and_atomic_one_from_the_pool()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var dev = m.Device("gpu", 64, false);
        var c = m.Api.AllocAttrs(0, dev, 1 * MiB, out var dma, Gfp.Kernel, DmaAttrs.ForceContiguous);
        Assert.False(c.IsNull);
        Assert.True(m.Mem.DefaultCma!.Range.Contains(new PhysAddr(dma.Value), 1 * MiB));
        Assert.Equal(CpuMappingKind.RemapNonCached, m.Kva.Resolve(c, out _));    // non-coherent: uncached remap
        var a = m.Api.AllocAttrs(0, dev, 8192, out var adma, Gfp.Atomic);
        Assert.True(m.Ops.AtomicPoolKernel!.Contains(a) || m.Ops.AtomicPoolDma32!.Contains(a) || m.Ops.AtomicPoolDma!.Contains(a));
        m.Api.FreeAttrs(0, dev, 8192, a, adma);
        m.Api.FreeAttrs(0, dev, 1 * MiB, c, dma, DmaAttrs.ForceContiguous);
        Assert.Empty(m.Debug.Findings);
        Assert.Equal(0, m.Debug.ActiveEntries);
    }

    [Fact]
    public void No_kernel_mapping_saves_vmalloc_space_and_cookie_access_is_a_finding()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64(vmalloc: 4 * MiB));
        var dev = m.Device("vpu", 64, false);
        ulong used = m.Kva.VmallocUsed;
        var plain = m.Api.AllocAttrs(0, dev, 2 * MiB, out var d1, Gfp.Kernel);
        Assert.Equal(used + 2 * MiB + 4096, m.Kva.VmallocUsed);
        var second = m.Api.AllocAttrs(0, dev, 2 * MiB, out _, Gfp.Kernel);
        Assert.True(second.IsNull);                            // vmalloc area exhausted
        var cookie = m.Api.AllocAttrs(0, dev, 2 * MiB, out var d3, Gfp.Kernel, DmaAttrs.NoKernelMapping);
        Assert.Equal(CpuMappingKind.PageCookie, m.Kva.Resolve(cookie, out var ph));
        Assert.Equal(d3.Value, ph.Value);
        Assert.Equal(2 * MiB + 4096, m.Kva.VmallocSavedByNoKernelMapping);
        Assert.Equal(MemAccess.BusError, m.Api.CpuWrite(dev, cookie, [1]));
        Assert.Contains(m.Api.Findings, f => f.Kind == "cpu-access-no-kernel-mapping" && f.Address == cookie.Value);
        m.Api.FreeAttrs(0, dev, 2 * MiB, cookie, d3, DmaAttrs.NoKernelMapping);
        m.Api.FreeAttrs(0, dev, 2 * MiB, plain, d1);
        Assert.Equal(used, m.Kva.VmallocUsed);
    }

    [Fact]
    public void Dma_pool_blocks_respect_size_align_and_boundary()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var dev = m.Device("ehci", 32, true);
        Assert.Null(DmaPool.Create(m.Api, "bad", dev, 64, 48, 0));
        var pool = DmaPool.Create(m.Api, "qh", dev, 96, 32, 1024)!;
        Assert.Equal(96UL, pool.BlockSize);
        var first = pool.Alloc(0, Gfp.Kernel, out var h0);
        var addrs = new List<ulong> { h0.Value };
        for (int i = 1; i < pool.TotalBlocks; i++) { pool.Alloc(0, Gfp.Kernel, out var h); addrs.Add(h.Value); }
        Assert.Equal(40, pool.TotalBlocks);                   // 10 blocks per 1 KiB boundary, 4 per page
        foreach (var a in addrs) Assert.Equal(a / 1024, (a + 95) / 1024);
        Assert.Equal(1, pool.Chunks);
        pool.Destroy(0);
        Assert.Contains(pool.Findings, f => f.Kind == "dma-pool-busy");
    }

    [Fact]
    public void Required_mask_and_max_mapping_size()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var dev = m.Device("d", 32, true);
        Assert.Equal((1UL << 34) - 1, m.Api.GetRequiredMask(dev));   // top page below 8 GiB + 256 MiB
        Assert.Equal(ulong.MaxValue, m.Api.MaxMappingSize(dev));
        dev.DmaIoTlbMem = new SwiotlbPool(m.Mem.Memory, new MemRange(new PhysAddr(2 * GiB + 128 * MiB), 1 * MiB), 1);
        Assert.Equal(256UL * 1024, m.Api.MaxMappingSize(dev));
        Assert.Equal(0, m.Api.SetMaskAndCoherent(dev, (1UL << 40) - 1));
    }
}
