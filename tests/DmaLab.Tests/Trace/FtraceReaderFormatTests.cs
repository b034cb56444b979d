using System.IO.Compression;
using System.Text;
using DmaLab.Trace;
using DmaLab.Dma;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Trace;

/// <summary>The text variants tracefs and trace-cmd print, and the per-line error handling.</summary>
public class FtraceReaderFormatTests
{
    const string MapFields = "0000:00:06.0 dir=BIDIRECTIONAL dma_addr=152260000 size=4096 phys_addr=152260000 attrs=SKIP_CPU_SYNC|NO_WARN";

    static TraceRecord Single(string text)
    {
        using var reader = TraceTestUtil.ReaderOf(text);
        Assert.True(reader.Read(), $"no record from: {text}");
        Assert.Equal(0, reader.Stats.MalformedLines);
        return reader.Current.Clone();
    }

    static void AssertMap(TraceRecord r, string task = "python3", int pid = 594, int cpu = 15)
    {
        Assert.Equal(TraceEventKind.DmaMapPhys, r.Kind);
        Assert.Equal(task, r.Task);
        Assert.Equal(pid, r.Pid);
        Assert.Equal(cpu, r.Cpu);
        Assert.Equal("0000:00:06.0", r.Device);
        Assert.Equal(0x152260000UL, r.DmaAddr);
        Assert.Equal(4096UL, r.Size);
        Assert.Equal(DmaAttrs.SkipCpuSync | DmaAttrs.NoWarn, r.Attrs);
    }

    [Fact]
    public void Tracefs_line_with_irq_flags() =>
        AssertMap(Single($"         python3-594     [015] .....    62.768862: dma_map_phys: {MapFields}\n"));

    [Fact]
    public void Line_without_the_flags_column()
    {
        var r = Single($"         python3-594   [015]    62.768862: dma_map_phys: {MapFields}\n");
        AssertMap(r);
        Assert.Equal("", r.Flags);
        Assert.Equal(62_768_862_000UL, r.TimestampNs);
    }

    [Fact]
    public void Trace_cmd_report_with_padded_event_and_ns_timestamps()
    {
        var r = Single($"cpus=16\n         python3-594   [015] d..1.  62.768862123: dma_map_phys:         {MapFields}\n");
        AssertMap(r);
        Assert.Equal(62_768_862_123UL, r.TimestampNs);
        Assert.Equal("d..1.", r.Flags);
    }

    [Fact]
    public void Trace_cmd_system_prefix_and_tgid_column()
    {
        AssertMap(Single($"         python3-594     (    594) [015] ..... 62.768862: dma:dma_map_phys: {MapFields}\n"));
    }

    [Fact]
    public void Task_names_with_spaces_and_dashes()
    {
        AssertMap(Single($"  my task-name-7-594     [015] .....    62.768862: dma_map_phys: {MapFields}\r\n"), task: "my task-name-7");
        AssertMap(Single($"    kworker/u4:1-594     [015] d.h1.    62.768862: dma_map_page: {MapFields}\n"), task: "kworker/u4:1");
    }

    [Fact]
    public void Lost_events_unknown_events_and_malformed_lines_are_reported()
    {
        string text =
            "# tracer: nop\n" +
            TraceTestUtil.Line("sched_switch", "prev_comm=a prev_pid=1 ==> next_comm=b") +
            "CPU:3 [LOST 120 EVENTS]\n" +
            "this is not a trace line\n" +
            TraceTestUtil.Line("dma_map_phys", "0000:00:06.0 dir=SIDEWAYS dma_addr=1000 size=4096 phys_addr=1000 attrs=") +
            TraceTestUtil.Line("dma_map_phys", MapFields) +
            "\n" +
            TraceTestUtil.Line("sched_switch", "x");
        using var reader = TraceTestUtil.ReaderOf(text);
        var records = TraceTestUtil.ReadAll(reader);
        Assert.Single(records);
        var s = reader.Stats;
        Assert.Equal(8, s.Lines);
        Assert.Equal(4, s.EventLines);
        Assert.Equal(2, s.UnknownEventLines);
        Assert.Equal(2, s.CountOf("sched_switch"));
        Assert.Equal(2, s.CountOf("dma_map_phys"));
        Assert.Equal(120, s.LostEventCount);
        Assert.Equal(new LostEvents(3, 3, 120), Assert.Single(s.Lost));
        Assert.Equal(2, s.MalformedLines);
        Assert.Equal(4, s.Malformed[0].Line);
        Assert.Equal(5, s.Malformed[1].Line);
        Assert.Contains("dir=", s.Malformed[1].Reason);
    }

    [Fact]
    public void Gzip_input_is_detected()
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
            gz.Write(Encoding.UTF8.GetBytes(TraceTestUtil.Line("dma_map_phys", MapFields)));
        ms.Position = 0;
        using var reader = new FtraceReader(ms, "x.gz");
        Assert.True(reader.Read());
        Assert.Equal("gzip", reader.Stats.Compression);
    }

    [Fact]
    public void Sg_arrays_cut_short_keep_the_whole_entries()
    {
        var r = Single(TraceTestUtil.Line("dma_unmap_sg", "0000:00:06.0 dir=BIDIRECTIONAL phys_addrs={0x1000,0x2000,0x30"));
        Assert.Equal(new ulong[] { 0x1000, 0x2000 }, r.PhysAddrs.ToArray());
    }

    [Fact]
    public void Iommu_fault_and_group_events()
    {
        var f = Single(TraceTestUtil.Line("io_page_fault", "IOMMU:nvme 0000:00:04.0 iova=0x00000000fffd0000 flags=0x0020"));
        Assert.Equal(TraceEventKind.IommuIoPageFault, f.Kind);
        Assert.Equal("nvme", f.Driver);
        Assert.Equal("0000:00:04.0", f.Device);
        Assert.Equal(0xfffd0000UL, f.Iova);
        Assert.Equal(0x20, f.FaultFlags);
        var g = Single(TraceTestUtil.Line("add_device_to_group", "IOMMU: groupID=7 device=0000:00:05.0"));
        Assert.Equal(7, g.GroupId);
        Assert.Equal("0000:00:05.0", g.Device);
    }

    [Fact]
    public void Progress_is_reported_with_input_length()
    {
        var progress = new List<TraceProgress>();
        var text = string.Concat(Enumerable.Range(0, 10).Select(i => TraceTestUtil.Line("dma_map_phys", MapFields, ts: i)));
        using var reader = TraceTestUtil.ReaderOf(text, options: new FtraceReaderOptions { Progress = progress.Add, ProgressEveryLines = 4 });
        while (reader.Read()) { }
        // Once when the run of lines read crossed 4 lines (all 10 arrive in one run here), once at the end.
        Assert.Equal(2, progress.Count);
        Assert.Equal(10, progress[^1].Lines);
        Assert.Equal(Encoding.UTF8.GetByteCount(text), progress[^1].InputLength);
        Assert.Equal(progress[^1].InputLength, progress[^1].InputBytes);
    }

    [Fact]
    public void Older_sg_format_without_counts_and_numeric_attrs()
    {
        // Before the nents/ents columns were added, dma_map_sg printed only the three arrays.
        var r = Single(TraceTestUtil.Line("dma_map_sg", "0000:00:04.0 dir=TO_DEVICE dma_addrs={0xfffd8000} sizes={0x4000} phys_addrs={0xe7c0000,0xe7d7000,0xe7e0000,0xe7f1000} attrs=NO_WARN|0x800000"));
        Assert.Equal(0, r.FullNents);
        Assert.Equal(4, r.PhysAddrs.Length);
        Assert.Equal(DmaAttrs.NoWarn | (DmaAttrs)0x800000, r.Attrs);
        var report = TraceTestUtil.ReplayText(TraceTestUtil.Line("dma_map_sg", "0000:00:04.0 dir=TO_DEVICE dma_addrs={0xfffd8000} sizes={0x4000} phys_addrs={0xe7c0000,0xe7d7000,0xe7e0000,0xe7f1000} attrs="));
        Assert.Equal(0x4000, report.LiveBytesAtEnd);
        Assert.Equal("iommu-dma", report.Platform.DmaOps); // four segments merged into one IOVA range
    }
}

/// <summary>Input that goes past the reader's limits: counts add up without overflow (a lost-events total stops at
/// long.MaxValue), a line over 1 MiB is reported with its own number and text.</summary>
public class FtraceInputLimitsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_line_over_one_mebibyte_is_reported_with_its_own_number_and_text(bool readAhead)
    {
        string head = "              ip-187     [000] .....     1.000018: dma_map_page: 0000:00:04.0 dir=FROM_DEVICE dma_addr=1000 size=64 phys_addr=1000 attrs=";
        string text = "# tracer: nop\n" + head + new string('A', 3 << 20) + "\n" +
                      TraceTestUtil.Line("dma_unmap_page", "0000:00:04.0 dir=FROM_DEVICE dma_addr=1000 size=64 attrs=") + "garbage\n";
        using var reader = TraceTestUtil.ReaderOf(text, options: new FtraceReaderOptions { ReadAhead = readAhead });
        var records = TraceTestUtil.ReadAll(reader);
        var s = reader.Stats;
        Assert.Equal(4, s.Lines);
        Assert.Equal(3, Assert.Single(records).Line);
        Assert.Equal([2L, 4L], s.Malformed.Select(m => m.Line));
        Assert.Equal("line longer than 1 MiB", s.Malformed[0].Reason);
        Assert.StartsWith(head[..100], s.Malformed[0].Text);
        Assert.Equal("garbage", s.Malformed[1].Text);
    }

    [Fact]
    public void Huge_lost_counts_saturate_instead_of_wrapping()
    {
        var sb = new System.Text.StringBuilder("# tracer: nop\n");
        for (int i = 0; i < 12; i++) sb.Append("CPU:1 [LOST 999999999999999999 EVENTS]\n");
        sb.Append("CPU:2 [LOST 99999999999999999999999 EVENTS]\n");
        sb.Append(TraceTestUtil.Line("dma_map_phys", "0000:00:06.0 dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=1000 attrs="));
        foreach (bool ahead in new[] { false, true })
        {
            using var reader = TraceTestUtil.ReaderOf(sb.ToString(), options: new FtraceReaderOptions { ReadAhead = ahead });
            TraceTestUtil.ReadAll(reader);
            Assert.Equal(long.MaxValue, reader.Stats.LostEventCount);
            Assert.Equal(long.MaxValue, reader.Stats.Lost[^1].Count);
            Assert.All(reader.Stats.Lost, l => Assert.True(l.Count > 0));
        }
    }
}
