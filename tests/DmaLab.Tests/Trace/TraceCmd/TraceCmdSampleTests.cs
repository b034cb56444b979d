using DmaLab.Trace;
using DmaLab.Trace.TraceCmd;

namespace DmaLab.Tests.Trace.TraceCmd;

/// <summary>
/// Golden tests on real captures, each one ring buffer read several ways: the trace-cmd .dat (v7 zstd from
/// `trace-cmd extract`, v6 from `trace-cmd convert`) and the `trace-cmd report` text give, record for record, what
/// the tracefs text twin gives. The text shows microseconds rounded to nearest (Linux: kernel/trace/trace_output.c,
/// ns2usecs()), the .dat the nanoseconds, so timestamps are compared in rounded microseconds; `trace-cmd report`
/// prints no flags column, so the report's records have none.
/// </summary>
public class TraceCmdSampleTests
{
    public static TheoryData<string, string> Forms => new()
    {
        { TraceSamples.TraceCmdStrict, ".dat" },
        { TraceSamples.TraceCmdStrict, ".v6.dat.xz" },
        { TraceSamples.TraceCmdStrict, ".report.txt.xz" },
        { TraceSamples.TraceCmdLazySmp2, ".dat" },
        { TraceSamples.TraceCmdLazySmp2, ".report.txt.xz" },
    };

    internal static ITraceRecordSource Open(string file, FtraceReaderOptions? options = null) =>
        TraceSource.Open(File.OpenRead(TraceSamples.PathOf(file)), file, options);

    static string Describe(TraceRecord r, bool ns, bool flags)
    {
        ulong us = ns ? (r.TimestampNs + 500) / 1000 : r.TimestampNs / 1000;
        string d = FtraceFastPathTests.Describe(r);
        // Drop the line number, the flags (when the form has none) and the timestamp: compared as microseconds.
        d = d[(d.IndexOf(' ') + 1)..];
        d = System.Text.RegularExpressions.Regex.Replace(d, " ts=[0-9]+ ", $" us={us} ");
        if (!flags) d = System.Text.RegularExpressions.Regex.Replace(d, " flags='[^']*' ", " ");
        return d;
    }

    static (List<string> Records, ITraceRecordSource Source) ReadAll(string file, bool ns, bool flags)
    {
        var list = new List<string>();
        var src = Open(file, new FtraceReaderOptions { ReturnUnknownEvents = true });
        using (src) while (src.Read()) list.Add(Describe(src.Current, ns, flags));
        return (list, src);
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void Each_form_gives_the_records_of_the_tracefs_text(string capture, string form)
    {
        bool dat = form.Contains(".dat", StringComparison.Ordinal);
        bool flags = dat; // trace-cmd report prints no flags column
        var (text, textSrc) = ReadAll(capture + ".trace.xz", ns: false, flags);
        var (other, otherSrc) = ReadAll(capture + form, ns: dat, flags);
        Assert.True(text.Count > 4000);
        Assert.Equal(text.Count, other.Count);
        for (int i = 0; i < text.Count; i++)
            Assert.True(text[i] == other[i], $"record {i + 1}:\n text: {text[i]}\n {form}: {other[i]}");
        Assert.Equal(textSrc.Stats.EventCounts, otherSrc.Stats.EventCounts);
        Assert.Equal(textSrc.Stats.Cpus, otherSrc.Stats.Cpus);
        Assert.Equal(0, otherSrc.Stats.MalformedLines);
        Assert.Equal(textSrc.Devices.Names, otherSrc.Devices.Names);
        if (dat) Assert.StartsWith("trace-cmd .dat v", otherSrc.Stats.Format);
    }

    [Fact]
    public void The_v7_file_is_zstd_and_the_v6_file_is_not()
    {
        using var v7 = (TraceCmdReader)Open(TraceSamples.TraceCmdStrict + ".dat");
        Assert.Equal(7, v7.FileVersion);
        Assert.Equal("zstd", v7.Stats.Compression);
        using var v6 = (TraceCmdReader)Open(TraceSamples.TraceCmdStrict + ".v6.dat.xz");
        Assert.Equal(6, v6.FileVersion);
        Assert.Equal("xz", v6.Stats.Compression);
        Assert.Equal(1, v6.Stats.Cpus);
        using var smp2 = Open(TraceSamples.TraceCmdLazySmp2 + ".dat");
        Assert.Equal(2, smp2.Stats.Cpus);
    }

    [Fact]
    public void Dma_map_sg_arrays_come_from_the_records_bytes()
    {
        // The first dma_map_sg of the strict capture, as tracefs prints it:
        // "0000:00:04.0 dir=FROM_DEVICE nents=4/4 ents=1/1 dma_addrs={0xfffd8000} sizes={0x4000}
        //  phys_addrs={0x7fdc4000,0x7fdd7000,0x7fdde000,0x7fde0000} attrs=NO_WARN"
        foreach (var form in new[] { ".dat", ".v6.dat.xz", ".report.txt.xz" })
        {
            using var src = Open(TraceSamples.TraceCmdStrict + form);
            TraceRecord? sg = null;
            while (src.Read()) if (src.Current.Kind == TraceEventKind.DmaMapSg) { sg = src.Current; break; }
            Assert.NotNull(sg);
            Assert.Equal("0000:00:04.0", sg.Device);
            Assert.Equal(DmaLab.Dma.DmaDirection.FromDevice, sg.Dir);
            Assert.Equal([0x7fdc4000UL, 0x7fdd7000, 0x7fdde000, 0x7fde0000], sg.PhysAddrs.ToArray());
            Assert.Equal([0xfffd8000UL], sg.DmaAddrs.ToArray());
            Assert.Equal([0x4000UL], sg.Lengths.ToArray());
            Assert.Equal((4, 1, false), (sg.FullNents, sg.FullEnts, sg.Truncated));
            Assert.Equal(DmaLab.Dma.DmaAttrs.NoWarn, sg.Attrs);
        }
    }
}
