using System.Text;
using CsCheck;
using DmaLab.Sim;
using DmaLab.Trace;
using DmaLab.Replay;

namespace DmaLab.Tests.Trace;

/// <summary>Input that is not ftrace text gives one TraceFormatException naming the file and the place; malformed
/// lines never throw (fuzzed with mutated real lines).</summary>
public class FtraceReaderBadInputTests
{
    static TraceFormatException ReadFails(byte[] bytes, string name)
    {
        return Assert.Throws<TraceFormatException>(() =>
        {
            using var reader = new FtraceReader(new MemoryStream(bytes), name);
            while (reader.Read()) { }
        });
    }

    [Fact]
    public void Trace_cmd_dat_file_in_the_text_reader_points_to_the_dat_reader()
    {
        var bytes = new byte[] { 0x17, 0x08, 0x44, (byte)'t', (byte)'r', (byte)'a', (byte)'c', (byte)'i', (byte)'n', (byte)'g', (byte)'6', 0, 0, 0 };
        var ex = ReadFails(bytes, "trace.dat");
        Assert.Contains("binary trace-cmd .dat", ex.Message);
        Assert.Contains("TraceSource.Open", ex.Message);
        Assert.StartsWith("trace.dat: ", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Random_binary_is_rejected()
    {
        var rng = new Rng(7);
        var bytes = new byte[10000];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)rng.NextU64();
        bytes[0] = 0x7f; // not a compression magic
        var ex = ReadFails(bytes, "blob.bin");
        Assert.Contains("binary data, expected ftrace text", ex.Message);
    }

    [Fact]
    public void Corrupt_xz_is_a_located_error()
    {
        var good = File.ReadAllBytes(TraceSamples.PathOf(TraceSamples.VtdStrict));
        var corrupt = (byte[])good.Clone();
        for (int i = 2000; i < 2400; i++) corrupt[i] ^= 0x5A;
        var ex = ReadFails(corrupt, "bad.trace.xz");
        Assert.Contains(".xz", ex.Message);
        Assert.StartsWith("bad.trace.xz: line ", ex.Message);
        Assert.True(ex.Line > 0);
    }

    [Fact]
    public void Truncated_xz_is_a_located_error()
    {
        var good = File.ReadAllBytes(TraceSamples.PathOf(TraceSamples.VtdStrict));
        var ex = ReadFails(good[..(good.Length / 2)], "cut.trace.xz");
        Assert.Contains("xz", ex.Message);
    }

    sealed class FailingStream : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) => throw new IOException("Input/output error");
        public override bool CanRead => true; public override bool CanSeek => false; public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
        public override void SetLength(long v) => throw new NotSupportedException();
        public override void Write(byte[] b, int o, int c) => throw new NotSupportedException();
    }

    [Fact]
    public void Unreadable_input_is_a_one_line_error()
    {
        var ex = Assert.Throws<TraceFormatException>(() => new FtraceReader(new FailingStream(), "/dev/broken"));
        Assert.Equal("/dev/broken: offset 0: cannot read input (Input/output error)", ex.Message);
    }

    static readonly string[] SampleLines = LoadSampleLines();

    static string[] LoadSampleLines()
    {
        var lines = new List<string>();
        foreach (var name in new[] { TraceSamples.H100, TraceSamples.VtdStrict, TraceSamples.VtdSwiotlb, TraceSamples.Smmuv3Strict })
        {
            using var raw = new SharpCompress.Compressors.Xz.XZStream(File.OpenRead(TraceSamples.PathOf(name)));
            var all = new StreamReader(raw).ReadToEnd().Split('\n');
            // A spread of every event type: the header, then every 7th line.
            lines.AddRange(all.Take(14));
            lines.AddRange(all.Where((_, i) => i % 7 == 0));
        }
        return lines.ToArray();
    }

    static readonly byte[] Interesting = "0123456789abcdefx{},=|:-[]() .\t\r\0\u00ff"u8.ToArray();

    [Fact]
    public void Mutated_lines_never_throw_and_never_hang()
    {
        var gen = Gen.Select(Gen.Int[0, SampleLines.Length - 1].Array[1, 6], Gen.ULong);
        gen.Sample(t =>
        {
            var (picks, seed) = t;
            var rng = new Rng(seed);
            var text = new List<byte>();
            foreach (int p in picks)
            {
                var line = Encoding.UTF8.GetBytes(SampleLines[p]).ToList();
                int mutations = rng.Next(1, 6);
                for (int m = 0; m < mutations && line.Count > 0; m++)
                {
                    int at = rng.Next(0, line.Count);
                    byte b = rng.Chance(0.7) ? Interesting[rng.Next(0, Interesting.Length)] : (byte)rng.NextU64();
                    switch (rng.Next(0, 6))
                    {
                        case 0: line[at] = b; break;
                        case 1: line.Insert(at, b); break;
                        case 2: line.RemoveAt(at); break;
                        case 3: line.RemoveRange(at, line.Count - at); break;
                        case 4: line.InsertRange(at, line.GetRange(at, Math.Min(40, line.Count - at))); break;
                        default: line.InsertRange(at, Enumerable.Repeat((byte)'f', rng.Next(1, 40))); break;
                    }
                }
                text.AddRange(line);
                text.Add((byte)'\n');
            }
            var bytes = text.ToArray();
            var run = Task.Run(() =>
            {
                try
                {
                    using var reader = new FtraceReader(new MemoryStream(bytes), "fuzz.trace");
                    var replayer = new TraceReplayer(new ReplayOptions { Model = new IdentityReplayModel() });
                    while (reader.Read()) replayer.Consume(reader.Current);
                    var report = replayer.Finish(reader.Stats);
                    Assert.Equal(reader.Stats.EventLines, report.Lines);
                    Assert.True(reader.Stats.Lines >= picks.Length);
                }
                catch (TraceFormatException) { /* the documented error (e.g. mutated into binary) */ }
                // The fixed-layout fast paths must read every mutated line as the general parser does
                // (same records, counts, malformed list and error).
                FtraceFastPathTests.AssertSameAsGeneral(bytes, "fuzz.trace");
            });
            Assert.True(run.Wait(TimeSpan.FromSeconds(10)), "reader hung");
        }, iter: 300);
    }
}

public class FtraceReaderNotFtraceTests
{
    [Fact]
    public void Text_that_is_not_a_trace_is_rejected_at_its_first_line()
    {
        var text = "{\n  \"json\": true,\n  \"lines\": 3\n}\n";
        var ex = Assert.Throws<TraceFormatException>(() =>
        {
            using var reader = TraceTestUtil.ReaderOf(text, "report.json");
            while (reader.Read()) { }
        });
        Assert.StartsWith("report.json: line 1: not ftrace text", ex.Message);
        Assert.Equal(1, ex.Line);
    }

    [Fact]
    public void A_trace_with_only_its_header_is_empty_not_an_error()
    {
        using var reader = TraceTestUtil.ReaderOf(TraceEventFormatter.Header(0, 4));
        Assert.False(reader.Read());
        Assert.Equal(0, reader.Stats.EventLines);
        Assert.Equal(12, reader.Stats.CommentLines);
    }
}
