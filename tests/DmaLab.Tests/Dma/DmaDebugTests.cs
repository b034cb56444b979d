using DmaLab.Dma;
using DmaLab.Mm;

namespace DmaLab.Tests.Dma;

public class DmaDebugTests
{
    static (DmaTestMachine M, DmaLab.Devices.Device D, PhysAddr P) Setup()
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var d = m.Device("0000:00:04.0", 64, true);
        return (m, d, m.Pages(1, Gfp.Dma));
    }

    static string Only(DmaTestMachine m) => Assert.Single(m.Debug.Findings).Kind;

    [Fact]
    public void Clean_single_sg_coherent_paths_are_silent()
    {
        var (m, d, p) = Setup();
        var a = m.Api.MapPage(0, d, p, 4096, DmaDirection.FromDevice);
        Assert.False(m.Api.MappingError(d, a));
        m.Api.SyncSingleForCpu(0, d, a + 16, 64, DmaDirection.FromDevice);
        m.Api.SyncSingleForDevice(0, d, a, 4096, DmaDirection.FromDevice);
        m.Api.UnmapPage(0, d, a, 4096, DmaDirection.FromDevice);
        var sg = new Scatterlist(2); sg.Init(2); sg.SetPhys(0, p, 4096); sg.SetPhys(1, p + 4096, 4096);
        Assert.Equal(2, m.Api.MapSg(0, d, sg, 2, DmaDirection.ToDevice));
        m.Api.SyncSgForDevice(0, d, sg, 2, DmaDirection.ToDevice);
        m.Api.UnmapSg(0, d, sg, 2, DmaDirection.ToDevice);
        var c = m.Api.AllocCoherent(0, d, 8192, out var h, Gfp.Kernel);
        m.Api.FreeCoherent(0, d, 8192, c, h);
        Assert.Empty(m.Debug.Findings);
        Assert.Equal(0, m.Debug.ActiveEntries);
    }

    [Fact]
    public void Unmap_of_never_mapped_address()
    {
        var (m, d, p) = Setup();
        m.Api.UnmapPage(0, d, new DmaAddr(0x1234000), 4096, DmaDirection.ToDevice);
        var f = Assert.Single(m.Debug.Findings);
        Assert.Equal("unmap-of-unmapped", f.Kind);
        Assert.Equal("DMA-API: 0000:00:04.0: device driver tries to free DMA memory it has not allocated [device address=0x0000000001234000] [size=4096 bytes]", f.Message);
    }

    [Theory]
    [InlineData("size")]
    [InlineData("direction")]
    [InlineData("type")]
    [InlineData("not-checked")]
    public void Unmap_mismatches(string what)
    {
        var (m, d, p) = Setup();
        var a = m.Api.MapPage(0, d, p, 4096, DmaDirection.ToDevice);
        if (what != "not-checked") m.Api.MappingError(d, a);
        switch (what)
        {
            case "size": m.Api.UnmapPage(0, d, a, 2048, DmaDirection.ToDevice); Assert.Equal("unmap-size-mismatch", Only(m)); break;
            case "direction": m.Api.UnmapPage(0, d, a, 4096, DmaDirection.FromDevice); Assert.Equal("unmap-direction-mismatch", Only(m)); break;
            case "type": m.Api.UnmapResource(0, d, a, 4096, DmaDirection.ToDevice); Assert.Equal("unmap-type-mismatch", Only(m)); break;
            default: m.Api.UnmapPage(0, d, a, 4096, DmaDirection.ToDevice); Assert.Equal("map-error-not-checked", Only(m)); break;
        }
    }

    [Theory]
    [InlineData("unmapped")]
    [InlineData("range")]
    [InlineData("direction")]
    public void Sync_misuse(string what)
    {
        var (m, d, p) = Setup();
        var a = m.Api.MapPage(0, d, p, 4096, DmaDirection.ToDevice);
        m.Api.MappingError(d, a);
        switch (what)
        {
            case "unmapped": m.Api.SyncSingleForCpu(0, d, new DmaAddr(0x10), 4, DmaDirection.ToDevice); Assert.Equal("sync-of-unmapped", Only(m)); break;
            // As in the kernel, a sync larger than the mapping finds no containing entry (containing_match), so it is
            // reported as a sync of memory the driver has not mapped.
            case "range": m.Api.SyncSingleForDevice(0, d, a + 4000, 200, DmaDirection.ToDevice); Assert.Equal("sync-of-unmapped", Only(m)); break;
            default:
                m.Api.SyncSingleForCpu(0, d, a, 4096, DmaDirection.FromDevice);
                Assert.Equal(new[] { "sync-direction-mismatch", "sync-read-only-for-cpu" }, m.Debug.Findings.Select(f => f.Kind));
                break;
        }
    }

    [Fact]
    public void Sg_nents_mismatch_and_overlapping_cacheline_and_leak_and_coherent_wrong_size()
    {
        var (m, d, p) = Setup();
        var sg = new Scatterlist(2); sg.Init(2); sg.SetPhys(0, p, 512); sg.SetPhys(1, p + 4096, 512);
        m.Api.MapSg(0, d, sg, 2, DmaDirection.FromDevice);
        m.Api.UnmapSg(0, d, sg, 1, DmaDirection.FromDevice);
        Assert.Contains(m.Debug.Findings, f => f.Kind == "unmap-sg-nents-mismatch");
        m.Debug.TakeFindings();

        var a = m.Api.MapPage(0, d, p + 8192, 64, DmaDirection.FromDevice);
        var b = m.Api.MapPage(0, d, p + 8192 + 32, 16, DmaDirection.FromDevice);       // same cache line, device-writable
        Assert.Equal("cacheline-overlap", Only(m));
        m.Debug.TakeFindings();
        m.Api.MapPage(0, d, p + 8192, 64, DmaDirection.ToDevice);                      // TO_DEVICE: exempt
        Assert.Empty(m.Debug.Findings);

        m.Debug.DeviceReleased(d);
        Assert.Equal("leaked-mappings", Only(m));
        m.Debug.TakeFindings();

        var c = m.Api.AllocCoherent(0, d, 4096, out var h, Gfp.Kernel);
        m.Api.FreeCoherent(0, d, 2048, c, h);
        Assert.Equal("free-coherent-size-mismatch", Only(m));
    }
}
