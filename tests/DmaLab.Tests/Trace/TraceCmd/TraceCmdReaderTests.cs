using System.Buffers.Binary;
using System.Text;
using DmaLab.Trace;
using DmaLab.Trace.TraceCmd;

namespace DmaLab.Tests.Trace.TraceCmd;

/// <summary>
/// The .dat reader on files written by <see cref="DatBuilder"/>: v6, v7 and v7 with zlib give the same records; CPUs
/// merge by timestamp (the lower CPU first on a tie); tasks, flags, the trace_marker event, lost events; signed,
/// __rel_loc and array fields decoded by the file's formats; records it cannot decode are counted, not dropped.
/// </summary>
public class TraceCmdReaderTests
{
    const ulong MarkIp = 0xffffffff812a0010, OtherIp = 0xffffffff812a0410;

    static DatBuilder TwoCpus()
    {
        var b = new DatBuilder();
        b.Cpus.Add([
            new DatBuilder.Page(1000).Event(0, DatBuilder.PrintRecord(100, MarkIp, "PHASE start"))
                .Event(10, DatBuilder.MapPageRecord(100, "0000:00:04.0", 0x1000, 0xfffff000, 4096))
                .Event(20, DatBuilder.MapPageRecord(0, "0000:00:05.0", 0x2000, 0xffffe000, 512, flags: 0x09, preempt: 0x01)).Bytes(),
            new DatBuilder.Page(5000) { Lost = 7 }.Event(0, DatBuilder.PrintRecord(300, OtherIp, "from the kernel")).Bytes(),
        ]);
        b.Cpus.Add([
            new DatBuilder.Page(1010).Event(0, DatBuilder.MapPageRecord(200, "0000:00:05.0", 0x3000, 0xffffd000, 64)).Bytes(),
        ]);
        return b;
    }

    static List<TraceRecord> Read(byte[] file, out TraceReadStats stats, bool unknown = true)
    {
        using var r = TraceSource.Open(new MemoryStream(file), "test.dat", new FtraceReaderOptions { ReturnUnknownEvents = unknown });
        var list = new List<TraceRecord>();
        while (r.Read()) list.Add(r.Current.Clone());
        stats = r.Stats;
        return list;
    }

    static string Show(TraceRecord r) =>
        $"{r.Line} {r.EventName} {r.Kind} {r.Task}-{r.Pid} [{r.Cpu}] {r.Flags} {r.TimestampNs} {r.Device} {r.DmaAddr:x} {r.PhysAddr:x} {r.Size} {r.Dir} '{r.Message}'";

    [Fact]
    public void Cpus_merge_by_timestamp_with_tasks_flags_markers_and_lost_events()
    {
        var recs = Read(TwoCpus().V6(), out var stats).Select(Show).ToList();
        Assert.Equal([
            "1 tracing_mark_write TracingMarkWrite drv-100 [0] ..... 1000  0 0 0 Bidirectional 'PHASE start'",
            // CPU 0 at 1010 and CPU 1 at 1010: the lower CPU first.
            "2 dma_map_page DmaMapPhys drv-100 [0] ..... 1010 0000:00:04.0 fffff000 1000 4096 FromDevice ''",
            "3 dma_map_page DmaMapPhys irq/24-nvme-200 [1] ..... 1010 0000:00:05.0 ffffd000 3000 64 FromDevice ''",
            "4 dma_map_page DmaMapPhys <idle>-0 [0] d.h1. 1030 0000:00:05.0 ffffe000 2000 512 FromDevice ''",
            // A print event from elsewhere in the kernel is named by its function, like tracefs; pid 300 was not saved.
            "5 next_fn Unknown <...>-300 [0] ..... 5000  0 0 0 Bidirectional ''",
        ], recs);
        Assert.Equal(2, stats.Cpus);
        Assert.Equal(7, stats.LostEventCount);
        Assert.Equal(new LostEvents(5, 0, 7), Assert.Single(stats.Lost));
        Assert.Equal(1, stats.UnknownEventLines);
        Assert.Equal(3, stats.CountOf("dma_map_page"));
        Assert.Equal(1, stats.CountOf("next_fn"));
        Assert.Equal("trace-cmd .dat v6", stats.Format);
    }

    [Fact]
    public void Versions_6_and_7_and_zlib_chunks_give_the_same_records()
    {
        var b = TwoCpus();
        // More pages than a chunk holds on CPU 1.
        for (int i = 0; i < 5; i++)
            b.Cpus[1].Add(new DatBuilder.Page(20_000 + (ulong)i * 100).Event(1, DatBuilder.MapPageRecord(200, "0000:00:06.0", 0x4000, 0xffffc000, 8)).Bytes());
        var v6 = Read(b.V6(), out _).Select(Show).ToList();
        var v7 = Read(b.V7(zlib: false), out var s7).Select(Show).ToList();
        var z = Read(b.V7(zlib: true, pagesPerChunk: 2), out var sz).Select(Show).ToList();
        Assert.Equal(10, v6.Count);
        Assert.Equal(v6, v7);
        Assert.Equal(v6, z);
        Assert.Equal(("trace-cmd .dat v7", "none"), (s7.Format, s7.Compression));
        Assert.Equal("zlib", sz.Compression);
    }

    [Fact]
    public void Lost_events_of_empty_pages_add_up_and_other_instances_are_noted()
    {
        var b = new DatBuilder { ExtraInstance = "other" };
        b.Cpus.Add([
            new DatBuilder.Page(10).Event(0, DatBuilder.MapPageRecord(100, "d", 1, 2, 3)).Bytes(),
            new DatBuilder.Page(20) { Lost = 5 }.Bytes(),
            new DatBuilder.Page(30) { Lost = 4 }.Event(0, DatBuilder.MapPageRecord(100, "d", 1, 2, 3)).Bytes(),
            new DatBuilder.Page(40) { Lost = -1 }.Event(0, DatBuilder.MapPageRecord(100, "d", 1, 2, 3)).Bytes(),
        ]);
        Assert.Equal(3, Read(b.V7(zlib: true), out var stats).Count);
        Assert.Equal([new LostEvents(2, 0, 9), new LostEvents(3, 0, -1)], stats.Lost);
        Assert.Equal(9, stats.LostEventCount);
        Assert.Contains("trace instance \"other\" not read", Assert.Single(stats.Notes));
    }

    [Fact]
    public void Trace_printk_events_are_named_by_their_function_as_tracefs_does()
    {
        var b = new DatBuilder();
        b.FtraceFormats.Add(DatBuilder.Format("bprint", 6,
            "\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:const char * fmt;\toffset:16;\tsize:8;\tsigned:0;\n" +
            "\tfield:u32 buf[];\toffset:24;\tsize:0;\tsigned:0;\n"));
        var rec = new byte[32];
        BinaryPrimitives.WriteUInt16LittleEndian(rec, 6);
        BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(8), OtherIp);
        var unnamed = (byte[])rec.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(unnamed.AsSpan(8), 0x1000); // below every symbol
        b.Cpus.Add([new DatBuilder.Page(1).Event(0, rec).Event(1, unnamed).Bytes()]);
        var recs = Read(b.V6(), out var stats);
        Assert.Equal(["next_fn", "bprint"], recs.Select(r => r.EventName).ToArray());
        Assert.All(recs, r => Assert.Equal(TraceEventKind.Unknown, r.Kind));
        Assert.Equal(2, stats.UnknownEventLines);
    }

    [Fact]
    public void Signed_rel_loc_and_array_fields_follow_the_format()
    {
        var b = new DatBuilder();
        b.Formats.Add(("dma", DatBuilder.Format("dma_map_sg_err", 369,
            "\tfield:__rel_loc char[] device;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:__data_loc u64[] phys_addrs;\toffset:12;\tsize:4;\tsigned:0;\n" +
            "\tfield:int err;\toffset:16;\tsize:4;\tsigned:1;\n\tfield:enum dma_data_direction dir;\toffset:20;\tsize:4;\tsigned:0;\n" +
            "\tfield:unsigned long attrs;\toffset:24;\tsize:8;\tsigned:0;\n")));
        var rec = new byte[64];
        BinaryPrimitives.WriteUInt16LittleEndian(rec, 369);
        BinaryPrimitives.WriteInt32LittleEndian(rec.AsSpan(4), 100);
        // __rel_loc counts from the end of its location word (12): the device at 40 is 28 past it.
        BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(8), (8u << 16) | 28);
        BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(12), (16u << 16) | 48); // phys_addrs: two u64 at 48
        BinaryPrimitives.WriteInt32LittleEndian(rec.AsSpan(16), -12);
        BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(24), 0x100);
        Encoding.ASCII.GetBytes("dev-abc\0").CopyTo(rec, 40);
        BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(48), 0x1111);
        BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(56), 0x2222);
        b.Cpus.Add([new DatBuilder.Page(1).Event(0, rec).Bytes()]);
        var r = Assert.Single(Read(b.V6(), out var stats));
        Assert.Equal(0, stats.MalformedLines);
        Assert.Equal(TraceEventKind.DmaMapSgErr, r.Kind);
        Assert.Equal("dev-abc", r.Device);
        Assert.Equal(-12, r.Error);
        Assert.Equal(DmaLab.Dma.DmaDirection.ToDevice, r.Dir);
        Assert.Equal(DmaLab.Dma.DmaAttrs.NoWarn, r.Attrs);
        Assert.Equal([0x1111UL, 0x2222UL], r.PhysAddrs.ToArray());
    }

    [Fact]
    public void Records_that_cannot_be_decoded_are_counted_with_their_reason()
    {
        var b = new DatBuilder();
        // A dma_unmap_page whose format lacks the size field, a record of a type the file has no format for, and a
        // string whose location runs past the record.
        b.Formats.Add(("dma", DatBuilder.Format("dma_unmap_page", 379,
            "\tfield:__data_loc char[] device;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:u64 addr;\toffset:16;\tsize:8;\tsigned:0;\n")));
        var unmap = new byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(unmap, 379);
        var unknownType = new byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(unknownType, 999);
        var badLoc = DatBuilder.MapPageRecord(1, "x", 0, 0, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(badLoc.AsSpan(8), (200u << 16) | 56);
        b.Cpus.Add([new DatBuilder.Page(1).Event(0, unmap).Event(1, unknownType).Event(1, badLoc)
            .Event(1, DatBuilder.MapPageRecord(1, "ok", 1, 2, 3)).Bytes()]);
        var recs = Read(b.V6(), out var stats);
        Assert.Equal("ok", Assert.Single(recs).Device);
        Assert.Equal(3, stats.MalformedLines);
        Assert.Equal(4, stats.Lines);
        Assert.Contains("dma_unmap_page: the event's format has no field for Size", stats.Malformed[0].Reason);
        Assert.Contains("event type 999", stats.Malformed[1].Reason);
        Assert.Contains("field device: 200 bytes at 56 run past the record's", stats.Malformed[2].Reason);
    }

    [Fact]
    public void Gfp_flags_are_named_by_the_formats_print_flags_table()
    {
        // The dma_alloc format of the strict capture (Linux 6.12), as the .dat carries it.
        var text = File.ReadAllText(TraceSamples.PathOf("qemu-vtd-strict-sample-tracecmd.platform.txt"));
        int at = text.IndexOf("name: dma_alloc\n", StringComparison.Ordinal);
        int end = text.IndexOf("\n-- ", at, StringComparison.Ordinal);
        var fmt = TraceEventFormat.Parse("dma", text[at..end], 8);
        var table = PrintFlagsTable.From(fmt.PrintFormat, "flags");
        Assert.NotNull(table);
        Assert.Equal("GFP_KERNEL", table.Format(0xcc0));
        Assert.Equal("GFP_ATOMIC", table.Format(0x820));
        Assert.Equal("GFP_KERNEL|__GFP_ZERO", table.Format(0xcc0 | 0x100));
        Assert.Equal("none", table.Format(0));
        Assert.Equal("GFP_KERNEL|0x80000000", table.Format(0xcc0 | 0x80000000));
        var dir = fmt.Field("dir")!;
        Assert.Equal((44, 4, false), (dir.Offset, dir.Size, dir.Signed));
        var dev = fmt.Field("device")!;
        Assert.True(dev.DataLoc && dev.IsString);
    }
}
