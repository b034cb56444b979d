using BenchmarkDotNet.Attributes;
using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Benchmarks;

/// <summary>
/// ARM32 arm_iommu: the bitmap IOVA allocator (__alloc_iova + __free_iova) on an empty and on a 3/4-full first
/// bitmap, and a full dma_map_page + dma_unmap_page through the OMAP4 Panda DSP's arm_iommu mapping.
/// </summary>
[MemoryDiagnoser]
public class ArmIommuBenchmarks
{
    ArmIommuMapping _empty = null!;
    ArmIommuMapping _full = null!;
    Machine _m = null!;
    Devices.Device _dev = null!;
    PhysAddr _page;

    [GlobalSetup]
    public void Setup()
    {
        _empty = ArmIommuMapping.Create(0, 1UL << 32, null, out _)!;
        _full = ArmIommuMapping.Create(0, 1UL << 32, null, out _)!;
        for (int i = 0; i < 24576; i++) _full.AllocIova(4096);
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "tests", "data", "dtb"))) dir = Path.GetDirectoryName(dir);
        if (dir is null) throw new InvalidOperationException("tests/data/dtb not found above " + AppContext.BaseDirectory);
        using var f = File.OpenRead(Path.Combine(dir, "tests", "data", "dtb", "armhf_omap4-panda.dtb"));
        _m = Machine.Boot(DtbPlatform.Load(f, "armhf_omap4-panda.dtb"));
        _dev = _m.Device(_m.Setup.First(s => s.Ops == "arm-iommu").Device);
        _m.ArmIommu!.MappingOf(_dev)!.AllocIova(4096); // keep the page at IOVA 0 out of the loop
        _m.Memory.PageAllocator.TryAllocPages(0, Gfp.Kernel, out _page);
    }

    [Benchmark]
    public void AllocFreeEmpty()
    {
        var a = _empty.AllocIova(16384);
        _empty.FreeIova(a.Value, 16384);
    }

    [Benchmark]
    public void AllocFreeThreeQuartersFull()
    {
        var a = _full.AllocIova(4096);
        _full.FreeIova(a.Value, 4096);
    }

    [Benchmark]
    public void MapUnmapPageOmapDsp()
    {
        var d = _m.ArmIommu!.MapPage(_dev, _page, 4096, DmaDirection.Bidirectional, DmaAttrs.SkipCpuSync, 0);
        _m.ArmIommu.UnmapPage(_dev, d, 4096, DmaDirection.Bidirectional, DmaAttrs.SkipCpuSync, 0);
    }
}
