using System.Text;
using CsCheck;
using DmaLab.Sim;
using DmaLab.Trace;
using DmaLab.Trace.TraceCmd;
using SharpCompress.Compressors.Xz;

namespace DmaLab.Tests.Trace.TraceCmd;

/// <summary>
/// Bad .dat files and bad `trace-cmd report` lines: real files cut at every boundary of their structure, with bits
/// flipped and sizes made huge (seeded), never crash or hang; a .dat that cannot be read fails with one line naming
/// the byte offset, and text lines that cannot be read are counted as malformed.
/// </summary>
public class TraceCmdFuzzTests
{
    static readonly Lazy<byte[]> V7 = new(() => File.ReadAllBytes(TraceSamples.PathOf(TraceSamples.TraceCmdStrict + ".dat")));
    static readonly Lazy<byte[]> V6 = new(() =>
    {
        using var xz = new XZStream(File.OpenRead(TraceSamples.PathOf(TraceSamples.TraceCmdStrict + ".v6.dat.xz")));
        var ms = new MemoryStream();
        xz.CopyTo(ms);
        return ms.ToArray();
    });

    /// <summary>Reads the file to the end; returns the error message, or null when it read.</summary>
    static string? ReadOrFail(byte[] data, int length)
    {
        try
        {
            using var r = TraceSource.Open(new MemoryStream(data, 0, length, writable: false), "fuzz.dat");
            long n = 0;
            while (r.Read()) n++;
            Assert.True(n <= r.Stats.Lines);
            return null;
        }
        catch (TraceFormatException ex)
        {
            Assert.DoesNotContain('\n', ex.Message);
            Assert.StartsWith("fuzz.dat: ", ex.Message);
            Assert.Matches("(offset [0-9]+|start): ", ex.Message);
            return ex.Message;
        }
    }

    static List<long> Landmarks(byte[] data)
    {
        using var r = (TraceCmdReader)TraceSource.Open(new MemoryStream(data, writable: false), "fuzz.dat");
        return r.File.Landmarks.Distinct().Order().ToList();
    }

    public static TheoryData<int> Versions => new() { 6, 7 };

    [Theory]
    [MemberData(nameof(Versions))]
    public void Cut_at_every_boundary_fails_with_the_offset(int version)
    {
        var data = version == 6 ? V6.Value : V7.Value;
        var marks = Landmarks(data);
        Assert.True(marks.Count >= 10, $"{marks.Count} landmarks");
        int cuts = 0;
        foreach (long m in marks)
            foreach (long cut in new[] { m - 1, m, m + 1, m + 5 })
            {
                if (cut <= 0 || cut >= data.Length) continue;
                cuts++;
                var error = ReadOrFail(data, (int)cut);
                // v7 keeps its options at the end and every CPU's data has a fixed size: no cut reads whole.
                if (version == 7) Assert.NotNull(error);
            }
        // And within the first bytes, where the header fields lie one after another.
        for (int cut = 1; cut < 64; cut++) { Assert.NotNull(ReadOrFail(data, cut)); cuts++; }
        Assert.True(cuts > 50);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Huge_sizes_at_every_boundary_fail_without_allocating_them(int version)
    {
        var data = (version == 6 ? V6.Value : V7.Value).ToArray();
        foreach (long m in Landmarks(data))
            for (int k = 0; k < 16; k += 4)
            {
                long at = m + k;
                if (at + 4 > data.Length) continue;
                var save = data.AsSpan((int)at, 4).ToArray();
                data.AsSpan((int)at, 4).Fill(0xff);
                ReadOrFail(data, data.Length);
                save.CopyTo(data, (int)at);
            }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Flipped_bits_never_crash(int version)
    {
        var data = version == 6 ? V6.Value : V7.Value;
        long cpuData = Landmarks(data)[^1];
        Gen.Select(Gen.ULong, Gen.Int[1, 8]).Sample(t =>
        {
            var (seed, flips) = t;
            var rng = new Rng(seed);
            var copy = (byte[])data.Clone();
            for (int i = 0; i < flips; i++)
            {
                // Half of the flips in the metadata before the ring-buffer data, half anywhere (mostly pages).
                int at = rng.Chance(0.5) ? rng.Next(0, (int)Math.Min(data.Length, cpuData)) : rng.Next(0, data.Length);
                copy[at] ^= (byte)(1 << rng.Next(0, 8));
            }
            ReadOrFail(copy, copy.Length);
        }, iter: 25);
    }

    [Fact]
    public void Mutated_report_lines_are_counted_never_thrown()
    {
        // The first `trace-cmd report` lines of the strict capture, [FAILED TO PARSE] and print: lines among them.
        string all;
        using (var xz = new XZStream(File.OpenRead(TraceSamples.PathOf(TraceSamples.TraceCmdStrict + ".report.txt.xz"))))
        using (var sr = new StreamReader(xz)) all = sr.ReadToEnd();
        var lines = all.Split('\n').Where(l => l.Contains("FAILED TO PARSE") || l.Contains("print:")).Take(60).ToArray();
        Assert.Contains(lines, l => l.Contains("ARRAY["));
        var interesting = "0123456789abcdefx[],=:- ARY\t"u8.ToArray();
        Gen.ULong.Sample(seed =>
        {
            var rng = new Rng(seed);
            var text = new StringBuilder("cpus=1\n");
            int intact = 0;
            for (int i = 0; i < 8; i++)
            {
                var line = Encoding.UTF8.GetBytes(lines[rng.Next(0, lines.Length)]).ToList();
                int mutations = rng.Next(0, 5);
                if (mutations == 0) intact++;
                for (int m = 0; m < mutations && line.Count > 0; m++)
                {
                    int at = rng.Next(0, line.Count);
                    byte b = interesting[rng.Next(0, interesting.Length)];
                    switch (rng.Next(0, 4))
                    {
                        case 0: line[at] = b; break;
                        case 1: line.Insert(at, b); break;
                        case 2: line.RemoveAt(at); break;
                        default: line.RemoveRange(at, line.Count - at); break;
                    }
                }
                text.Append(Encoding.UTF8.GetString(line.ToArray())).Append('\n');
            }
            using var r = TraceSource.Open(new MemoryStream(Encoding.UTF8.GetBytes(text.ToString())), "fuzz.txt");
            long n = 0;
            try { while (r.Read()) n++; }
            catch (TraceFormatException ex) { Assert.DoesNotContain('\n', ex.Message); return; } // "not ftrace text"
            Assert.Equal(9, r.Stats.Lines);
            Assert.Equal(1, r.Stats.Cpus);
            // Every line left intact is a record; every other one a record, an unknown event or a counted malformed line.
            Assert.True(n >= intact, $"{n} records of {intact} intact lines");
            Assert.True(n + r.Stats.UnknownEventLines + r.Stats.MalformedLines + r.Stats.CommentLines + r.Stats.BlankLines + r.Stats.Lost.Count >= 9);
        }, iter: 300);
    }
}
