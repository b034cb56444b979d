using System.Text.RegularExpressions;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.Dma;

/// <summary>The dma:* field text must equal the real Linux 6.18 lines of the H100 capture byte for byte.</summary>
public class DmaTraceTests
{
    static IEnumerable<string> Lines()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "data", "traces", "h100-cuda-pinned.trace.xz");
        using var file = File.OpenRead(path);
        using var xz = new SharpCompress.Compressors.Xz.XZStream(file);
        using var reader = new StreamReader(xz);
        string? l;
        while ((l = reader.ReadLine()) is not null) yield return l;
    }

    static (string Ev, string Fields) Split(string line)
    {
        var m = Regex.Match(line, @": (dma_\w+): (.*)$");
        return (m.Groups[1].Value, m.Groups[2].Value);
    }

    static ulong[] Arr(string fields, string name)
    {
        var m = Regex.Match(fields, name + @"=\{([^}]*)\}");
        return m.Groups[1].Value.Length == 0 ? [] : m.Groups[1].Value.Split(',').Select(s => Convert.ToUInt64(s[2..], 16)).ToArray();
    }

    [Fact]
    public void Every_event_of_the_h100_capture_is_reproduced_exactly()
    {
        var dev = new Device(new DeviceSpec { Name = "0000:00:06.0", DmaMask = 52 });
        int n = 0;
        foreach (var line in Lines())
        {
            var (ev, f) = Split(line);
            if (ev.Length == 0) continue;
            var dir = Enum.Parse<DmaDirection>(Regex.Match(f, @"dir=(\w+)").Groups[1].Value.Replace("_", ""), ignoreCase: true);
            string mine;
            switch (ev)
            {
                case "dma_map_phys":
                {
                    var g = Regex.Match(f, @"dma_addr=(\w+) size=(\d+) phys_addr=(\w+)");
                    mine = DmaTrace.MapPhys(dev, new PhysAddr(Convert.ToUInt64(g.Groups[3].Value, 16)), new DmaAddr(Convert.ToUInt64(g.Groups[1].Value, 16)),
                        ulong.Parse(g.Groups[2].Value), dir, DmaAttrs.None);
                    break;
                }
                case "dma_unmap_phys":
                {
                    var g = Regex.Match(f, @"dma_addr=(\w+) size=(\d+)");
                    mine = DmaTrace.UnmapPhys(dev, new DmaAddr(Convert.ToUInt64(g.Groups[1].Value, 16)), ulong.Parse(g.Groups[2].Value), dir, DmaAttrs.None);
                    break;
                }
                case "dma_map_sg":
                {
                    var g = Regex.Match(f, @"nents=\d+/(\d+) ents=\d+/(\d+)");
                    int nents = int.Parse(g.Groups[1].Value), ents = int.Parse(g.Groups[2].Value);
                    var dmas = Arr(f, "dma_addrs"); var sizes = Arr(f, "sizes"); var phys = Arr(f, "phys_addrs");
                    var sg = new Scatterlist(Math.Max(nents, 1)); sg.Init(nents);
                    for (int i = 0; i < nents; i++)
                    {
                        sg.SetPhys(i, new PhysAddr(i < phys.Length ? phys[i] : 0), 0);
                        if (i < dmas.Length) { sg[i].DmaAddress = new DmaAddr(dmas[i]); sg[i].DmaLength = (uint)sizes[i]; }
                    }
                    mine = DmaTrace.MapSg(dev, sg, nents, ents, dir, DmaAttrs.None);
                    break;
                }
                case "dma_unmap_sg":
                {
                    var phys = Arr(f, "phys_addrs");
                    var sg = new Scatterlist(Math.Max(phys.Length, 1)); sg.Init(phys.Length);
                    for (int i = 0; i < phys.Length; i++) sg.SetPhys(i, new PhysAddr(phys[i]), 0);
                    mine = DmaTrace.UnmapSg(dev, sg, phys.Length, dir, DmaAttrs.None);
                    break;
                }
                default: continue;
            }
            Assert.Equal(f, mine);
            n++;
        }
        Assert.Equal(554 + 554 + 21 + 19, n);
    }

    [Fact]
    public void Attrs_and_gfp_render_as_the_kernel_prints_them()
    {
        Assert.Equal("WRITE_COMBINE|NO_KERNEL_MAPPING|SKIP_CPU_SYNC", DmaTrace.Attrs(DmaAttrs.SkipCpuSync | DmaAttrs.WriteCombine | DmaAttrs.NoKernelMapping));
        Assert.Equal("", DmaTrace.Attrs(DmaAttrs.None));
        Assert.Equal("GFP_KERNEL", DmaTrace.GfpFlags(Gfp.Kernel));
        var dev = new Device(new DeviceSpec { Name = "0000:00:04.0" });
        Assert.Equal("0000:00:04.0 dir=BIDIRECTIONAL dma_addr=ffffe000 size=512 virt_addr=ffff00000e63d000 flags=GFP_KERNEL attrs=",
            DmaTrace.Alloc(dev, new CpuAddr(0xffff00000e63d000), new DmaAddr(0xffffe000), 512, DmaDirection.Bidirectional, Gfp.Kernel, DmaAttrs.None));
    }
}
