using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.DmaIommu;

/// <summary>iommu-dma allocation paths, swiotlb bouncing for untrusted devices, prot bits and the size hints, on arm64-ref.</summary>
public class IommuDmaOpsTests
{
    const string Nvme = "0000:01:00.0", Gpu = "fd000000.gpu-2d";

    static Machine Boot(bool untrustedNvme = false)
    {
        var spec = PlatformLoader.LoadBuiltIn("arm64-ref");
        if (untrustedNvme) spec.Devices.First(d => d.Name == Nvme).Untrusted = true;
        return Machine.Boot(spec, new MachineOptions { Seed = 7 });
    }

    [Fact]
    public void BlockingAllocTakesPagesInTheDomainsOrdersAndRemapsThem()
    {
        var m = Boot();
        var gpu = m.Device(Gpu);
        var va = m.Dma.AllocAttrs(0, gpu, 3 * 4096 + 100, out var h, Gfp.Kernel);
        Assert.False(va.IsNull);
        var a = Assert.Single(m.IommuDma.Allocations(gpu));
        Assert.Equal(IommuDmaAllocKind.Remap, a.Kind);
        // pgsize 4K|2M|1G → orders {0, 9, 18}: 4 pages need four order-0 chunks
        Assert.Equal(4, a.Chunks.Length);
        Assert.All(a.Chunks, c => Assert.Equal(0, c.Order));
        // non-coherent master: the CPU sees the buffer through an uncached vmalloc mapping
        Assert.Equal(CpuMappingKind.RemapNonCached, m.DmaSystem.Kva.Resolve(va, out _));
        // 16 KiB of IOVA, top-down from the 40-bit coherent mask: a platform device gets no 32-bit-first attempt
        Assert.Equal(0xff_ffff_c000UL, h.Value);
        Assert.Equal(DmaStatus.Ok, m.Engine(gpu).Write(h, new byte[4 * 4096]).Status);
        m.Dma.FreeAttrs(0, gpu, 3 * 4096 + 100, va, h);
        Assert.Empty(m.IommuDma.Allocations(gpu));
        Assert.Equal(DmaStatus.IommuFault, m.Engine(gpu).Read(h, new byte[8]).Status);
    }

    [Fact]
    public void AllocAttributesPickTheirPaths()
    {
        var m = Boot();
        var gpu = m.Device(Gpu);
        // NO_KERNEL_MAPPING: pages mapped for the device, only a page cookie for the CPU
        var cookie = m.Dma.AllocAttrs(0, gpu, 64 * 1024, out var h1, Gfp.Kernel, DmaAttrs.NoKernelMapping);
        Assert.Equal(CpuMappingKind.PageCookie, m.DmaSystem.Kva.Resolve(cookie, out _));
        Assert.False(h1.IsError);
        // FORCE_CONTIGUOUS: one block from CMA, remapped for the non-coherent master
        var va = m.Dma.AllocAttrs(0, gpu, 256 * 1024, out var h2, Gfp.Kernel, DmaAttrs.ForceContiguous);
        var a = m.IommuDma.Allocations(gpu).Single(x => x.Handle == h2);
        Assert.Equal(IommuDmaAllocKind.Contiguous, a.Kind);
        Assert.True(a.Remapped);
        Assert.Contains(m.Memory.CmaAreas, c => c.Range.Contains(a.Chunks[0].Page));
        // ALLOC_SINGLE_PAGES on a 2 MiB buffer: 512 order-0 pages instead of one 2 MiB chunk
        m.Dma.AllocAttrs(0, gpu, 2 << 20, out var h3, Gfp.Kernel, DmaAttrs.AllocSinglePages);
        Assert.Equal(512, m.IommuDma.Allocations(gpu).Single(x => x.Handle == h3).Chunks.Length);
        // mmap past the end is -ENXIO
        Assert.Equal(-6, m.Dma.MmapAttrs(gpu, new UserVma(0x7000_0000, 2 * 4096, 16), va, h2, 64 * 1024, DmaAttrs.None, out _));
        Assert.Equal(0, m.Dma.MmapAttrs(gpu, new UserVma(0x7000_0000, 4096, 1), va, h2, 256 * 1024, DmaAttrs.None, out var um));
        Assert.Equal(a.Chunks[0].Page + 4096, um.Phys);
    }

    [Fact]
    public void UntrustedDeviceBouncesSubGranuleBuffersButNotWholePages()
    {
        var m = Boot(untrustedNvme: true);
        var nvme = m.Device(Nvme);
        Assert.NotNull(nvme.DmaIoTlbMem);
        Assert.True(m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out var page));
        m.Memory.Memory.Fill(page, 4096, 0xee);
        // 512 bytes in a page shared with other data: the device must not see the rest of the page
        var dma = m.Dma.MapPage(0, nvme, page + 0x200, 512, DmaDirection.ToDevice);
        var seen = new byte[4096];
        Assert.Equal(DmaStatus.Ok, m.Engine(nvme).Read(new DmaAddr(dma.Value & ~0xfffUL), seen).Status);
        int off = (int)(dma.Value & 0xfff);
        Assert.All(seen.AsSpan(off, 512).ToArray(), b => Assert.Equal(0xee, b));
        Assert.Equal(4096 - 512, seen.Count(b => b == 0));       // swiotlb padding was cleared
        Assert.True(m.Stats().BounceBytesToDevice >= 512);
        m.Dma.UnmapPage(0, nvme, dma, 512, DmaDirection.ToDevice);
        // a whole aligned page is mapped in place
        var whole = m.Dma.MapPage(0, nvme, page, 4096, DmaDirection.ToDevice);
        Assert.Equal(page.Value, DmaLab.Iommu.IommuCore.IovaToPhys(m.IommuDma.StateOf(nvme)!.Cookie.Domain, whole.Value));
        Assert.Equal(128UL * 1024, nvme.DmaOps!.OptMappingSize());
        Assert.NotEqual(ulong.MaxValue, nvme.DmaOps.MaxMappingSize(nvme));
    }

    [Fact]
    public void ProtBitsFollowDirectionAndCoherence()
    {
        Assert.Equal(DmaLab.Iommu.PageTables.IommuProt.Read | DmaLab.Iommu.PageTables.IommuProt.Cache, IommuDmaOps.DmaInfoToProt(DmaDirection.ToDevice, true, DmaAttrs.None));
        Assert.Equal(DmaLab.Iommu.PageTables.IommuProt.Write, IommuDmaOps.DmaInfoToProt(DmaDirection.FromDevice, false, DmaAttrs.None));
        Assert.Equal(DmaLab.Iommu.PageTables.IommuProt.Read | DmaLab.Iommu.PageTables.IommuProt.Write | DmaLab.Iommu.PageTables.IommuProt.Priv,
            IommuDmaOps.DmaInfoToProt(DmaDirection.Bidirectional, false, DmaAttrs.Privileged));
        Assert.Equal(DmaLab.Iommu.PageTables.IommuProt.None, IommuDmaOps.DmaInfoToProt(DmaDirection.None, true, DmaAttrs.None));
    }
}
