using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Trace;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Dma;

/// <summary>
/// The contract every <see cref="IDmaMapOps"/> must keep, run through <see cref="DmaMapping"/>. An implementation's
/// test class derives and supplies the machine and device (iommu-dma will add its own).
/// </summary>
public abstract class DmaMapOpsContractTests
{
    protected abstract (DmaMapping Api, Device Dev, CpuCache Cache, Func<int, PhysAddr> Pages) Create();

    [Fact]
    public void Map_gives_an_address_the_device_reads_the_cpu_bytes_at()
    {
        var (api, dev, cache, pages) = Create();
        var p = pages(0);
        cache.CpuWrite(p + 100, [1, 2, 3]);
        var dma = api.MapPage(0, dev, p + 100, 3, DmaDirection.ToDevice);
        Assert.False(api.MappingError(dev, dma));
        Assert.Equal(100UL & 0xfff, dma.Value & 0xfff);
        api.UnmapPage(0, dev, dma, 3, DmaDirection.ToDevice);
        Assert.Empty(api.Debug!.Findings);
    }

    [Fact]
    public void Coherent_alloc_is_zeroed_cpu_visible_and_freed_cleanly()
    {
        var (api, dev, cache, _) = Create();
        var c = api.AllocCoherent(0, dev, 3000, out var dma, Gfp.Kernel);
        Assert.False(c.IsNull);
        var b = new byte[3000];
        Assert.Equal(MemAccess.Ok, api.CpuRead(dev, c, b));
        Assert.All(b, x => Assert.Equal(0, x));
        api.CpuWrite(dev, c, [7]);
        api.FreeCoherent(0, dev, 3000, c, dma);
        Assert.Empty(api.Debug!.Findings);
        Assert.Empty(api.Findings);
    }

    [Fact]
    public void Mmap_beyond_the_buffer_is_enxio_and_sgtable_has_one_entry()
    {
        var (api, dev, _, _) = Create();
        var c = api.AllocCoherent(0, dev, 8192, out var dma, Gfp.Kernel);
        Assert.Equal(-6, api.MmapAttrs(dev, new UserVma(0x7000_0000, 3 * 4096, 0), c, dma, 8192, DmaAttrs.None, out _));
        Assert.Equal(0, api.MmapAttrs(dev, new UserVma(0x7000_0000, 4096, 1), c, dma, 8192, DmaAttrs.None, out var um));
        Assert.Equal(4096UL, um.Size);
        var sgt = new Scatterlist(1);
        Assert.Equal(0, api.GetSgtableAttrs(dev, sgt, c, dma, 8192));
        Assert.Equal(8192u, sgt[0].Length);
        api.FreeCoherent(0, dev, 8192, c, dma);
    }

    [Fact]
    public void Map_sg_returns_mapped_count_and_emits_the_6_18_event()
    {
        var (api, dev, _, pages) = Create();
        var sink = new RecordingSink();
        api.Trace = sink;
        var sg = new Scatterlist(2); sg.Init(2);
        var p = pages(1);
        sg.SetPhys(0, p, 4096); sg.SetPhys(1, p + 4096, 100);
        Assert.Equal(2, api.MapSg(3, dev, sg, 2, DmaDirection.FromDevice));
        api.UnmapSg(3, dev, sg, 2, DmaDirection.FromDevice);
        Assert.Equal(new[] { "dma_map_sg", "dma_unmap_sg" }, sink.Events.Select(e => e.Name));
        Assert.Equal($"{dev.Name} dir=FROM_DEVICE nents=2/2 ents=2/2 dma_addrs={{0x{sg[0].DmaAddress.Value:x},0x{sg[1].DmaAddress.Value:x}}} sizes={{0x1000,0x64}} phys_addrs={{0x{p.Value:x},0x{p.Value + 4096:x}}} attrs=", sink.Events[0].Fields);
        Assert.Equal(3, sink.Events[0].Cpu);
    }

    protected sealed class RecordingSink : ITraceSink
    {
        public List<(int Cpu, string Name, string Fields)> Events { get; } = new();
        public bool Enabled => true;
        public void Write(int cpu, string system, string eventName, string fields) => Events.Add((cpu, eventName, fields));
    }
}

public sealed class DmaDirectNonCoherentContractTests : DmaMapOpsContractTests
{
    protected override (DmaMapping, Device, CpuCache, Func<int, PhysAddr>) Create()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        return (m.Api, m.Device("isp", 32, false), m.Cache, o => m.Pages(o, Gfp.Dma));
    }
}

public sealed class DmaDirectCoherentContractTests : DmaMapOpsContractTests
{
    protected override (DmaMapping, Device, CpuCache, Func<int, PhysAddr>) Create()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        return (m.Api, m.Device("0000:00:06.0", 64, true), m.Cache, o => m.Pages(o));
    }
}

public class DmaCoherentMemoryTests
{
    [Fact]
    public void Shared_dma_pool_no_map_region_serves_the_device_exclusively()
    {
        var spec = DmaTestMachine.Arm64();
        spec.ReservedMemory.Add(new ReservedMemorySpec
        {
            Name = "vpu-mem", Base = 0x8800_0000, Size = 1UL << 20, Compatible = "shared-dma-pool", NoMap = true, Devices = { "vpu" },
        });
        var m = new DmaTestMachine(spec);
        var dev = m.Device("vpu", 32, false);
        Assert.NotNull(dev.DmaState.CoherentMemory);
        var a = m.Api.AllocCoherent(0, dev, 8192, out var d1, Gfp.Kernel);
        var b = m.Api.AllocCoherent(0, dev, 4096, out var d2, Gfp.Kernel);
        Assert.Equal(0x8800_0000UL, d1.Value);
        Assert.Equal(0x8800_2000UL, d2.Value);
        Assert.True(m.Api.AllocCoherent(0, dev, 2UL << 20, out _, Gfp.Kernel).IsNull);   // exclusive: no fallback
        m.Api.FreeCoherent(0, dev, 8192, a, d1);
        var c = m.Api.AllocCoherent(0, dev, 4096, out var d3, Gfp.Kernel);
        Assert.Equal(0x8800_0000UL, d3.Value);
    }
}
