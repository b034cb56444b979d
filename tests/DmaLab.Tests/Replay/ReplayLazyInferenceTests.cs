using DmaLab.Trace;
using static DmaLab.Tests.Trace.TraceTestUtil;
using DmaLab.Replay;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>Strict vs lazy DMA domains inferred from whether freed IOVAs come straight back.</summary>
public class ReplayLazyInferenceTests
{
    const string Dev = "0000:00:04.0";

    static string Trace(ulong[] iovas)
    {
        var sb = new System.Text.StringBuilder();
        double t = 1.0;
        foreach (ulong iova in iovas)
        {
            sb.Append(Line("map", $"IOMMU: iova=0x{iova:x16} - 0x{iova + 0x1000:x16} paddr=0x0000000000100000 size=4096", t));
            sb.Append(Line("dma_map_page", $"{Dev} dir=TO_DEVICE dma_addr={iova:x} size=4096 phys_addr=100000 attrs=", t += 1e-6));
            sb.Append(Line("unmap", $"IOMMU: iova=0x{iova:x16} - 0x{iova + 0x1000:x16} size=4096 unmapped_size=4096", t += 1e-6));
            sb.Append(Line("dma_unmap_page", $"{Dev} dir=TO_DEVICE dma_addr={iova:x} size=4096 attrs=", t += 1e-6));
        }
        return sb.ToString();
    }

    [Fact]
    public void Freed_iovas_not_reused_at_once_mean_flush_queues_and_the_model_follows()
    {
        // Lazy: each unmapped IOVA waits in the flush queue (1 ms apart here: under the 10 ms timer).
        var m = new MachineReplayModel();
        var r = ReplayText(Trace([0xfffff000, 0xffffe000, 0xffffd000, 0xffffc000, 0xffffb000]), m);
        Assert.Equal(5, r.Fidelity.Compared);
        Assert.Equal(5, r.Fidelity.Matched);
        Assert.Contains(m.Notes, n => n.StartsWith("DMA domains lazy"));
        Assert.True(m.Stats().FlushQueueFlushes == 0 && m.Stats().Invalidations == 0);
    }

    [Fact]
    public void Freed_iovas_reused_at_once_mean_strict()
    {
        var m = new MachineReplayModel();
        var r = ReplayText(Trace([0xfffff000, 0xfffff000, 0xfffff000, 0xfffff000]), m);
        Assert.Equal(4, r.Fidelity.Matched);
        Assert.Contains(m.Notes, n => n.StartsWith("DMA domains strict"));
        Assert.Equal(4, m.Stats().Invalidations);
    }
}
