using BenchmarkDotNet.Attributes;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Benchmarks;

/// <summary>
/// swiotlb streaming map + unmap with the real bounce copies (Linux: swiotlb_map + swiotlb_tbl_unmap_single),
/// on a 64 MiB default pool with one area and tracing off. The target: 4 KiB map+unmap with copies
/// at most 400 ns, no allocation.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class SwiotlbBenchmarks
{
    SwiotlbPool _pool = null!;
    Device _nic = null!, _nvme = null!;
    static readonly PhysAddr Orig = new(0x2000_0000);
    static readonly PhysAddr OrigOffset = new(0x2000_0a40);

    [GlobalSetup]
    public void Setup()
    {
        var mem = new PhysicalMemory([new MemRange(new PhysAddr(0), 1UL << 30)]);
        _pool = new SwiotlbPool(mem, new MemRange(new PhysAddr(0x0800_0000), Swiotlb.IoTlbDefaultSize), 1, forceBounce: true);
        _nic = new Device(new DeviceSpec { Name = "0000:00:05.0", Bus = "pci", DmaMask = 64 });
        _nvme = new Device(new DeviceSpec { Name = "0000:00:04.0", Bus = "pci", DmaMask = 64, MinAlignMask = 0xfff });
        mem.Fill(Orig, 1 << 20, 0x5a);      // populate the source pages so copies move real bytes
    }

    /// <summary>DMA_BIDIRECTIONAL: copy in on map, copy back on unmap (two 4 KiB copies).</summary>
    [Benchmark(Baseline = true)]
    public ulong MapUnmap4kBidirectional()
    {
        var dma = _pool.Map(_nic, Orig, 4096, DmaDirection.Bidirectional, DmaAttrs.None, 0, out var tlb);
        _pool.TblUnmapSingle(_nic, tlb, 4096, DmaDirection.Bidirectional, DmaAttrs.None);
        return dma.Value;
    }

    /// <summary>DMA_TO_DEVICE: one copy.</summary>
    [Benchmark]
    public ulong MapUnmap4kToDevice()
    {
        var dma = _pool.Map(_nic, Orig, 4096, DmaDirection.ToDevice, DmaAttrs.None, 0, out var tlb);
        _pool.TblUnmapSingle(_nic, tlb, 4096, DmaDirection.ToDevice, DmaAttrs.None);
        return dma.Value;
    }

    /// <summary>NVMe-like min_align_mask 0xfff with a sub-page offset (stride 2, offset inside the slot), FROM_DEVICE.</summary>
    [Benchmark]
    public ulong MapUnmap4kNvmeFromDevice()
    {
        var dma = _pool.Map(_nvme, OrigOffset, 4096, DmaDirection.FromDevice, DmaAttrs.None, 0, out var tlb);
        _pool.TblUnmapSingle(_nvme, tlb, 4096, DmaDirection.FromDevice, DmaAttrs.None);
        return dma.Value;
    }
}
