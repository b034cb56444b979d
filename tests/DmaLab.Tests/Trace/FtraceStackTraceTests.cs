using System.Text;
using DmaLab.Cli.Report;
using DmaLab.Replay;
using DmaLab.Sim;
using DmaLab.Trace;
using static DmaLab.Tests.Trace.TraceTestUtil;

namespace DmaLab.Tests.Trace;

/// <summary>Kernel stacks of options/stacktrace: the "&lt;stack trace&gt;" entry after an event and its " => " frames
/// (kernel/trace/trace_output.c, trace_stack_print()) attach to that event; the replay charges mappings, leaks and
/// findings to call sites.</summary>
public class FtraceStackTraceTests
{
    // Frames as a 6.12 kernel prints them with sym-offset: function+offset/size, and [module] for module code.
    const string NvmeStack = "dma_map_page_attrs+0x1c5/0x2b0\nnvme_prep_rq.part.0+0x2a1/0x870 [nvme]\nnvme_queue_rq+0x7f/0x1f0 [nvme]\nblk_mq_dispatch_rq_list+0x14a/0x7c0";
    const string NetStack = "dma_map_page_attrs+0x1c5/0x2b0\ne1000_xmit_frame+0x6c8/0x1080 [e1000e]\ndev_hard_start_xmit+0x63/0x1d0";

    static string Stack(string frames, double ts, int cpu = 0, string task = "drv", int pid = 100) =>
        $"{task,16}-{pid,-7} [{cpu:000}] ..... {ts,12:F6}: <stack trace>\n" + string.Concat(frames.Split('\n').Select(f => $" => {f}\n"));

    [Fact]
    public void Stack_lines_attach_to_the_event_before_them_on_their_cpu()
    {
        string text =
            Line("dma_map_phys", "0000:00:04.0 dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=1000 attrs=", 1.0) +
            Line("dma_map_phys", "0000:00:05.0 dir=FROM_DEVICE dma_addr=9000 size=512 phys_addr=9000 attrs=", 1.0, cpu: 1) +
            Stack(NvmeStack, 1.0) +
            Line("dma_unmap_phys", "0000:00:04.0 dir=TO_DEVICE dma_addr=1000 size=4096 attrs=", 2.0) +
            Stack(NetStack, 2.0, cpu: 1);
        using var reader = ReaderOf(text);
        var records = ReadAll(reader);
        Assert.Equal(3, records.Count);
        Assert.Equal(NvmeStack, records[0].Stack); // cpu 0's latest event, not the cpu-1 line between
        Assert.Equal(NetStack, records[1].Stack);  // cpu 1's stack comes after cpu 0's unmap: it is the cpu-1 map's
        Assert.Equal("", records[2].Stack);
        Assert.Equal(0, reader.Stats.MalformedLines);
        Assert.Equal(1 + 4 + 1 + 3, reader.Stats.StackLines);
        Assert.Equal(0, reader.Stats.OrphanStacks);
    }

    [Fact]
    public void A_stack_with_no_event_before_it_is_counted_and_stray_frames_stay_malformed()
    {
        string text = Stack(NvmeStack, 0.5) + Line("dma_map_phys", "0000:00:04.0 dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=1000 attrs=", 1.0)
            + " => stray_frame+0x1/0x2\n";
        using var reader = ReaderOf(text);
        var records = ReadAll(reader);
        Assert.Single(records);
        Assert.Equal("", records[0].Stack);
        Assert.Equal(1, reader.Stats.OrphanStacks);
        Assert.Equal(5, reader.Stats.StackLines);
        Assert.Equal(1, reader.Stats.MalformedLines);
    }

    /// <summary>The VT-d sample with a stack on every map (NVMe, e1000e and virtio-net call paths), written by the
    /// TraceWriter the way tracefs prints options/stacktrace.</summary>
    static string SampleWithStacks()
    {
        var sb = new StringWriter();
        var w = new TraceWriter(sb, new SimClock()) { LegacyNames = true };
        using var reader = TraceSamples.Open(TraceSamples.VtdStrict);
        while (reader.Read())
        {
            var r = reader.Current;
            if (r.Kind is TraceEventKind.DmaMapPhys or TraceEventKind.DmaMapSg)
                r.Stack = r.Device switch
                {
                    "0000:00:04.0" => NvmeStack,
                    "0000:00:05.0" => NetStack,
                    _ => "dma_map_page_attrs+0x1c5/0x2b0\nvring_map_one_sg+0x4a/0x70\nvirtqueue_add_split+0x1b4/0x5e0\nstart_xmit+0x2a7/0x5c0 [virtio_net]",
                };
            w.WriteRecord(r);
        }
        return sb.ToString();
    }

    [Fact]
    public void Replay_charges_live_mappings_and_leaks_to_call_sites()
    {
        string text = SampleWithStacks();
        using var plain = TraceSamples.Open(TraceSamples.VtdStrict);
        var baseline = TraceReplayer.Replay(plain, new ReplayOptions { Input = "plain" });
        // read-ahead on (runs parsed on several threads)
        var r = ReplayRunner.Run(new MemoryStream(Encoding.UTF8.GetBytes(text)), "stacks.trace", new ReplayRunOptions());
        Assert.Equal(0, r.SkippedLines);
        Assert.Equal(baseline.LiveMappingsAtEnd, r.LiveMappingsAtEnd);
        Assert.Equal(3, r.CallSiteCount);
        var byCaller = r.CallSites.ToDictionary(s => s.Function);
        var nvme = byCaller["nvme_prep_rq.part.0+0x2a1/0x870 [nvme]"];
        var net = byCaller["e1000_xmit_frame+0x6c8/0x1080 [e1000e]"];
        var virtio = byCaller["vring_map_one_sg+0x4a/0x70"];
        // runs are cut before a stack, never inside one: every stack reaches its event
        Assert.Equal(0, r.OrphanStacks);
        const long orphans = 0;
        foreach (var (site, dev) in new[] { (nvme, "0000:00:04.0"), (net, "0000:00:05.0"), (virtio, "0000:00:06.0") })
        {
            var d = r.Devices.Single(x => x.Name == dev);
            Assert.Equal(dev, site.Device);
            Assert.InRange(site.Maps, d.Maps - orphans, d.Maps);
            Assert.InRange(site.LiveAtEnd, d.LiveMappingsAtEnd - orphans, d.LiveMappingsAtEnd);
        }
        Assert.Equal(0, nvme.LiveAtEnd);
        Assert.Equal(r.CallSites[0].LiveAtEnd, r.CallSites.Max(s => s.LiveAtEnd)); // sorted by leaks first
        Assert.Equal(4, nvme.Stack.Count);

        // the report shows them: HTML section and JSON
        string html = ReplayHtml.Render(r);
        Assert.Contains("Call sites", html);
        Assert.Contains("e1000_xmit_frame+0x6c8/0x1080 [e1000e]", html);
        string json = ReplayReportJson.Serialize(r);
        Assert.Contains("\"callSites\"", json);
        Assert.Contains("\"liveAtEnd\"", json);
    }
}
