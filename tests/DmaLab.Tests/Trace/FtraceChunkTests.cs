using System.Text;
using CsCheck;
using DmaLab.Sim;
using DmaLab.Trace;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Trace;

/// <summary>
/// Reading in runs of whole lines (TraceLineSource.TryReadBlock, FtraceChunk, merged in order by FtraceReader) gives
/// the lines, line numbers and stats of reading line by line, whatever the run boundaries, read sizes and threads.
/// </summary>
public class FtraceChunkTests
{
    /// <summary>A stream that hands out at most a few bytes per read, as a pipe does.</summary>
    sealed class TrickleStream(byte[] data, Rng rng) : Stream
    {
        int _pos;
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, data.Length - _pos), rng.Next(1, 5000));
            Array.Copy(data, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    static byte[] RandomText(Rng rng)
    {
        var sb = new StringBuilder();
        int lines = rng.Next(0, 60);
        for (int i = 0; i < lines; i++)
        {
            int len = rng.Chance(0.1) ? rng.Next(2000, 9000) : rng.Next(0, 120);
            for (int k = 0; k < len; k++) sb.Append((char)('a' + rng.Next(0, 26)));
            if (rng.Chance(0.2)) sb.Append('\r');
            if (i < lines - 1 || rng.Chance(0.5)) sb.Append('\n');
        }
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    static List<string> ByLine(byte[] data, Rng rng)
    {
        using var src = new TraceLineSource(new TrickleStream(data, rng), initialBuffer: 1024);
        var lines = new List<string>();
        while (src.TryReadLine(out var line)) lines.Add(Encoding.ASCII.GetString(line));
        return lines;
    }

    static (List<string> Lines, long Offset) ByBlock(byte[] data, Rng rng, int maxBytes)
    {
        using var src = new TraceLineSource(new TrickleStream(data, rng), initialBuffer: 1024);
        var lines = new List<string>();
        while (src.TryReadBlock(maxBytes, out var block, out bool single))
        {
            if (single) { lines.Add(Encoding.ASCII.GetString(block)); continue; }
            Assert.Equal((byte)'\n', block[^1]);
            foreach (var part in Encoding.ASCII.GetString(block[..^1]).Split('\n'))
                lines.Add(part.EndsWith('\r') ? part[..^1] : part);
        }
        return (lines, src.Offset);
    }

    [Fact]
    public void Blocks_hold_exactly_the_lines_read_one_by_one_whatever_the_read_sizes()
    {
        Gen.ULong.Sample(seed =>
        {
            var data = RandomText(new Rng(seed));
            int maxBytes = new Rng(seed ^ 1).Next(16, 6000);
            var (blocks, offset) = ByBlock(data, new Rng(seed ^ 2), maxBytes);
            Assert.Equal(ByLine(data, new Rng(seed ^ 3)), blocks);
            Assert.Equal(data.Length, offset);
        }, iter: 300);
    }

    /// <summary>About 1.5 MB of trace with malformed, lost-events and comment lines at known places: many 64 KiB
    /// runs, so most of those lines fall in runs other than the first.</summary>
    static (string Text, List<long> Malformed, List<long> Lost, List<long> Events) Marked()
    {
        var sb = new StringBuilder("# tracer: nop\n#\n");
        var malformed = new List<long>();
        var lost = new List<long>();
        var events = new List<long>();
        long line = 2;
        for (int i = 0; i < 12_000; i++)
        {
            line++;
            if (i % 997 == 5) { sb.Append("this is not a trace line\n"); malformed.Add(line); continue; }
            if (i % 1499 == 7) { sb.Append($"CPU:{i % 4} [LOST {i} EVENTS]\n"); lost.Add(line); continue; }
            if (i % 211 == 3) { sb.Append("# a comment in the middle\n"); continue; }
            sb.Append(TraceTestUtil.Line("dma_map_phys",
                $"0000:0{i % 3}:00.0 dir=TO_DEVICE dma_addr={0x1000 * (ulong)i:x} size=4096 phys_addr={0x1000 * (ulong)i:x} attrs=",
                ts: 1 + i * 1e-6, pid: 100 + i % 5, cpu: i % 4));
            events.Add(line);
        }
        return (sb.ToString(), malformed, lost, events);
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 1)]
    [InlineData(true, 3)]
    public void Line_numbers_and_counts_are_those_of_the_whole_input_across_runs(bool threaded, int workers)
    {
        var (text, malformed, lost, events) = Marked();
        using var reader = TraceTestUtil.ReaderOf(text);
        var lines = new List<long>();
        var devices = new List<(string Name, int Id)>();
        using (var ahead = FtraceReadAhead.Open(reader, threaded, workers))
            while (ahead.Read())
            {
                lines.Add(ahead.Current.Line);
                devices.Add((ahead.Current.Device, ahead.Current.DeviceId));
            }
        var s = reader.Stats;
        Assert.Equal(events, lines);
        Assert.Equal(malformed.Count, s.MalformedLines);
        Assert.Equal(malformed.Take(TraceReadStats.MaxListed), s.Malformed.Select(m => m.Line));
        Assert.Equal(lost.Take(TraceReadStats.MaxListed), s.Lost.Select(l => l.Line));
        Assert.Equal(events.Count, s.EventLines);
        Assert.Equal(events.Count, s.CountOf("dma_map_phys"));
        Assert.Equal(2 + 12_000, s.Lines);
        Assert.Equal(Encoding.UTF8.GetByteCount(text), s.TextBytes);
        Assert.Equal("nop", s.Tracer);
        // Device ids by first appearance in the input: 0000:00:00.0, 0000:01:00.0, 0000:02:00.0.
        Assert.Equal(["0000:00:00.0", "0000:01:00.0", "0000:02:00.0"], reader.Devices.Names);
        Assert.All(devices, d => Assert.Equal(d.Id, reader.Devices.Names.ToList().IndexOf(d.Name)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void After_a_bad_input_error_nothing_more_is_read(bool threaded)
    {
        // 60 lines that are not ftrace, then valid events: the reader gives up at the 50th and stays ended.
        var text = string.Concat(Enumerable.Range(0, 60).Select(i => $"{{ \"row\": {i} }}\n"))
                   + string.Concat(Enumerable.Range(0, 10).Select(i => TraceTestUtil.Line("dma_unmap_phys",
                       "0000:00:01.0 dir=TO_DEVICE dma_addr=1000 size=4096 attrs=", ts: 1 + i)));
        using var reader = TraceTestUtil.ReaderOf(text, "rows.json");
        using var ahead = FtraceReadAhead.Open(reader, threaded);
        var ex = Assert.Throws<TraceFormatException>(() => ahead.Read());
        Assert.StartsWith("rows.json: line 1: not ftrace text", ex.Message);
        Assert.False(ahead.Read());
        Assert.False(ahead.Read());
    }
}
