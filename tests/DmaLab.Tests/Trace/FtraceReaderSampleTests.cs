using DmaLab.Trace;
using DmaLab.Dma;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Trace;

/// <summary>Golden counts on the real captures (cross-checked by hand against the capture's own event-count table
/// in *.platform.txt and shared/tools/trace-facts.py).</summary>
public class FtraceReaderSampleTests
{
    static (TraceReadStats Stats, Dictionary<TraceEventKind, long> Kinds) ReadAll(string name)
    {
        using var reader = TraceSamples.Open(name);
        var kinds = new Dictionary<TraceEventKind, long>();
        while (reader.Read()) kinds[reader.Current.Kind] = kinds.GetValueOrDefault(reader.Current.Kind) + 1;
        return (reader.Stats, kinds);
    }

    [Fact]
    public void H100_event_counts_match_the_capture()
    {
        var (s, kinds) = ReadAll(TraceSamples.H100);
        Assert.Equal(1169, s.Lines);
        Assert.Equal(1157, s.EventLines);
        Assert.Equal(0, s.MalformedLines);
        Assert.Equal(0, s.UnknownEventLines);
        Assert.Equal((1157L, 1157L), s.Entries);
        Assert.Equal("nop", s.Tracer);
        Assert.Equal("xz", s.Compression);
        var ev = s.EventCounts;
        Assert.Equal(554, ev["dma_map_phys"]);
        Assert.Equal(554, ev["dma_unmap_phys"]);
        Assert.Equal(21, ev["dma_map_sg"]);
        Assert.Equal(19, ev["dma_unmap_sg"]);
        Assert.Equal(9, ev["tracing_mark_write"]);
        Assert.Equal(5, ev.Count);
        Assert.Equal(554, kinds[TraceEventKind.DmaMapPhys]);
        Assert.Equal(21, kinds[TraceEventKind.DmaMapSg]);
    }

    [Fact]
    public void VtdStrict_event_counts_match_the_capture()
    {
        var (s, kinds) = ReadAll(TraceSamples.VtdStrict);
        Assert.Equal(4468, s.EventLines);
        Assert.Equal(0, s.MalformedLines);
        var ev = s.EventCounts;
        Assert.Equal(12, ev["dma_alloc"]);
        Assert.Equal(840, ev["dma_map_page"]);
        Assert.Equal(139, ev["dma_map_sg"]);
        Assert.Equal(347, ev["dma_unmap_page"]);
        Assert.Equal(139, ev["dma_unmap_sg"]);
        Assert.Equal(2483, ev["map"]);
        Assert.Equal(486, ev["unmap"]);
        Assert.Equal(22, ev["tracing_mark_write"]);
        Assert.Equal(840, kinds[TraceEventKind.DmaMapPhys]);
        Assert.Equal(2483, kinds[TraceEventKind.IommuMap]);
    }

    [Fact]
    public void VtdSwiotlb_event_counts_match_the_capture()
    {
        var (s, kinds) = ReadAll(TraceSamples.VtdSwiotlb);
        Assert.Equal(3888, s.EventLines);
        Assert.Equal(0, s.MalformedLines);
        Assert.Equal(2446, kinds[TraceEventKind.SwiotlbBounced]);
        Assert.Equal(825, kinds[TraceEventKind.DmaMapPhys]);
        Assert.Equal(332, kinds[TraceEventKind.DmaUnmapPhys]);
        Assert.Equal(125, kinds[TraceEventKind.DmaMapSg]);
        Assert.Equal(13, kinds[TraceEventKind.DmaAlloc]);
    }

    [Fact]
    public void Smmuv3_event_counts_match_the_capture()
    {
        var (s, kinds) = ReadAll(TraceSamples.Smmuv3Strict);
        Assert.Equal(4409, s.EventLines);
        Assert.Equal(0, s.MalformedLines);
        Assert.Equal(2, kinds[TraceEventKind.IommuAddDeviceToGroup]);
        Assert.Equal(2, kinds[TraceEventKind.IommuAttachDeviceToDomain]);
        Assert.Equal(14, kinds[TraceEventKind.DmaAlloc]);
        Assert.Equal(841, kinds[TraceEventKind.DmaMapPhys]);
        Assert.Equal(484, kinds[TraceEventKind.IommuUnmap]);
    }

    [Fact]
    public void First_h100_sg_line_is_truncated_at_128_of_149()
    {
        using var reader = TraceSamples.Open(TraceSamples.H100);
        Assert.True(reader.Read());
        var r = reader.Current;
        Assert.Equal(TraceEventKind.DmaMapSg, r.Kind);
        Assert.Equal(13, r.Line);
        Assert.Equal("python3", r.Task);
        Assert.Equal(594, r.Pid);
        Assert.Equal(15, r.Cpu);
        Assert.Equal(62_768_862_000UL, r.TimestampNs);
        Assert.Equal("0000:00:06.0", r.Device);
        Assert.True(r.Truncated);
        Assert.Equal(149, r.FullNents);
        Assert.Equal(149, r.FullEnts);
        Assert.Equal(128, r.PhysAddrs.Length);
        Assert.Equal(128, r.DmaAddrs.Length);
        Assert.Equal(128, r.Lengths.Length);
        Assert.Equal(0x14ce25000UL, r.PhysAddrs[0]);
        Assert.Equal(0x2000UL, r.Lengths[3]);
        Assert.Equal(0x14cf97000UL, r.DmaAddrs[127]);
        Assert.Equal(DmaAttrs.None, r.Attrs);

        Assert.True(reader.Read());
        r = reader.Current;
        Assert.Equal(TraceEventKind.DmaMapPhys, r.Kind);
        Assert.Equal(0x152260000UL, r.DmaAddr);
        Assert.Equal(0x152260000UL, r.PhysAddr);
        Assert.Equal(4096UL, r.Size);
    }
}
