using DmaLab.Trace;

namespace DmaLab.Tests.Trace;

/// <summary>
/// `trace-cmd report` text as trace-cmd prints it: the "cpus=N" header, "print: tracing_mark_write:" markers, the
/// "[FAILED TO PARSE]" raw form with ARRAY[..] bytes (little-endian, 6.12 element sizes), with and without the
/// latency column newer trace-cmd prints; raw lines that cannot be read are counted as malformed.
/// </summary>
public class TraceCmdReportTextTests
{
    const string Sg = "[FAILED TO PARSE] device=0000:00:04.0 full_nents=2 full_ents=1 truncated=1 " +
        "phys_addrs=ARRAY[00, 40, dc, 7f, 00, 00, 00, 00, 00, 70, dd, 7f, 01, 00, 00, 00] dma_addrs=ARRAY[00, 80, fd, ff, 00, 00, 00, 00] " +
        "lengths=ARRAY[00, 40, 00, 00] dir=2 attrs=0x100";

    static List<TraceRecord> Read(string text, out TraceReadStats stats)
    {
        using var r = TraceTestUtil.ReaderOf(text);
        var list = TraceTestUtil.ReadAll(r);
        stats = r.Stats;
        return list;
    }

    [Fact]
    public void Header_markers_and_raw_sg_events_read_as_the_formatted_ones()
    {
        var recs = Read("cpus=2\n" +
            "            init-1     [001]     6.899696: print:                tracing_mark_write: PHASE start\n" +
            $"              dd-164   [000]     8.711673: dma_map_sg:           {Sg}\n" +
            "            tail-165   [000] d.h1.   8.715089: dma_unmap_sg:         [FAILED TO PARSE] device=0000:00:04.0 addrs=ARRAY[00, 40, dc, 7f, 00, 00, 00, 00] dir=2 attrs=0x0\n",
            out var stats);
        Assert.Equal(2, stats.Cpus);
        Assert.Equal(0, stats.MalformedLines);
        Assert.Equal(1, stats.CountOf("tracing_mark_write"));
        Assert.Equal(0, stats.CountOf("print"));
        var mark = recs[0];
        Assert.Equal((TraceEventKind.TracingMarkWrite, "tracing_mark_write", "PHASE start", 1), (mark.Kind, mark.EventName, mark.Message, mark.Cpu));
        var sg = recs[1];
        Assert.Equal(TraceEventKind.DmaMapSg, sg.Kind);
        Assert.Equal([0x7fdc4000UL, 0x17fdd7000], sg.PhysAddrs.ToArray());
        Assert.Equal([0xfffd8000UL], sg.DmaAddrs.ToArray());
        Assert.Equal([0x4000UL], sg.Lengths.ToArray());
        Assert.Equal((2, 1, true), (sg.FullNents, sg.FullEnts, sg.Truncated));
        Assert.Equal((DmaLab.Dma.DmaDirection.FromDevice, DmaLab.Dma.DmaAttrs.NoWarn), (sg.Dir, sg.Attrs));
        Assert.Equal("", sg.Flags);
        var unmap = recs[2];
        Assert.Equal(TraceEventKind.DmaUnmapSg, unmap.Kind);
        Assert.Equal([0x7fdc4000UL], unmap.PhysAddrs.ToArray());
        Assert.Equal(2, unmap.IrqLevel); // the latency column, when trace-cmd prints it
    }

    [Theory]
    [InlineData("device=0000:00:04.0 phys_addrs=ARRAY[00, 40", "unterminated ARRAY[")]
    [InlineData("device=0000:00:04.0 phys_addrs=ARRAY[00, 40, dc] dir=2", "bad value for phys_addrs=")]
    [InlineData("device=0000:00:04.0 phys_addrs=ARRAY[00, 40, dc, 7f, 00, 00, 00, 100] dir=2", "bad value for phys_addrs=")]
    [InlineData("device=0000:00:04.0 dir=2 attrs=0x0", "without a value for PhysAddrs")]
    [InlineData("phys_addrs=ARRAY[00, 40, dc, 7f, 00, 00, 00, 00]", "without a value for Device")]
    [InlineData("device=0000:00:04.0 dir=x2 phys_addrs=ARRAY[00, 40, dc, 7f, 00, 00, 00, 00]", "bad value for dir=")]
    [InlineData("just words", "expected name=value")]
    public void Raw_lines_that_cannot_be_read_are_counted(string fields, string reason)
    {
        var recs = Read($"cpus=1\n              dd-164   [000]     8.711673: dma_map_sg:           [FAILED TO PARSE] {fields}\n" +
            "            init-1     [000]     9.000000: print:                tracing_mark_write: end\n", out var stats);
        Assert.Single(recs);
        Assert.Equal(1, stats.MalformedLines);
        Assert.Contains(reason, stats.Malformed[0].Reason);
    }

    [Fact]
    public void Report_dash_l_latency_form_runs_the_cpu_into_the_flags()
    {
        // trace-cmd report -l: "TASK-PID CPUFLAGS TIMESTAMP: ..." with no brackets (trace-cmd 3.1.6).
        var recs = Read("cpus=2\n" +
            "    init-1       1.....     6.940144: print:                tracing_mark_write: PHASE start\n" +
            "  <idle>-0       0d.h1.     8.723953: unmap:                IOMMU: iova=0x00000000fffd8000 - 0x00000000fffdc000 size=16384 unmapped_size=16384\n" +
            "      dd-164    12.Ns2.     8.724033: map:                  IOMMU: iova=0x00000000fffd8000 - 0x00000000fffd9000 paddr=0x000000007fdc4000 size=4096\n",
            out var stats);
        Assert.Equal(0, stats.MalformedLines);
        Assert.Equal(3, recs.Count);
        Assert.Equal((1, ".....", 0, "init", 1), (recs[0].Cpu, recs[0].Flags, recs[0].IrqLevel, recs[0].Task, recs[0].Pid));
        Assert.Equal((0, "d.h1.", 2, "<idle>", 0), (recs[1].Cpu, recs[1].Flags, recs[1].IrqLevel, recs[1].Task, recs[1].Pid));
        Assert.Equal((12, ".Ns2.", 1, 8_724_033_000UL), (recs[2].Cpu, recs[2].Flags, recs[2].IrqLevel, recs[2].TimestampNs));
        Assert.Equal(TraceEventKind.IommuMap, recs[2].Kind);
    }
}
