using System.Text;
using System.Text.Json;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Cli;

/// <summary>What `dmalab replay` shows: never misleading figures, tables fitted to the terminal without a token
/// split, CSV, every finding on request, filters.</summary>
public class ReplayOutputCliTests
{
    static readonly string Trace = CliRunner.DataPath("traces", "qemu-vtd-strict-sample.trace.xz");

    [Fact]
    public void Binary_data_after_text_is_reported_at_its_offset_and_line_and_the_text_is_replayed()
    {
        string dir = CliRunner.TempDir();
        string whole;
        using (var xz = new SharpCompress.Compressors.Xz.XZStream(File.OpenRead(TraceSamples.PathOf(TraceSamples.H100))))
            whole = new StreamReader(xz).ReadToEnd();
        var lines = whole.Split('\n').Take(400).ToArray();
        var text = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
        var junk = new byte[3000];
        new Random(7).NextBytes(junk);
        junk[0] = 0;
        string f = Path.Combine(dir, "tail.trace");
        File.WriteAllBytes(f, [.. text, .. junk]);
        var r = CliRunner.Run("replay", f, "--json");
        Assert.Equal(0, r.ExitCode);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(text.Length, j.GetProperty("binaryOffset").GetInt64());
        Assert.Equal(401, j.GetProperty("binaryLine").GetInt64());
        Assert.Equal(junk.Length, j.GetProperty("binaryBytesDropped").GetInt64());
        long events = lines.Count(l => l.Contains(": dma_") || l.Contains("tracing_mark_write"));
        Assert.Equal(events, j.GetProperty("lines").GetInt64());
        var term = CliRunner.Run("replay", f);
        Assert.Contains($"binary data from offset {text.Length:N0} (line 401) to the end", term.Stdout);
    }

    [Fact]
    public void Nothing_compared_says_so_instead_of_100_percent()
    {
        string dir = CliRunner.TempDir();
        string f = Path.Combine(dir, "markers.trace");
        File.WriteAllText(f, TraceTestUtil.Line("tracing_mark_write", "phase one", 1) + TraceTestUtil.Line("tracing_mark_write", "phase two", 2));
        var r = CliRunner.Run("replay", f);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("nothing to compare", r.Stdout);
        Assert.DoesNotContain("100.00 %", r.Stdout);
        var j = JsonDocument.Parse(CliRunner.Run("replay", f, "--json").Stdout).RootElement.GetProperty("fidelity");
        Assert.Equal(0, j.GetProperty("compared").GetInt64());
        Assert.False(j.TryGetProperty("matchRate", out _));
        Assert.Equal("nothing to compare", j.GetProperty("summary").GetString());
    }

    [Theory]
    [InlineData(null, 80)]
    [InlineData("100", 100)]
    public void Piped_tables_fit_the_width_and_never_split_a_token(string? columns, int width)
    {
        var env = columns is null ? null : new Dictionary<string, string> { ["COLUMNS"] = columns };
        var r = CliRunner.RunWith(AppContext.BaseDirectory, env, "replay", Trace, "--policy", "lazy");
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n');
        // a line is longer only when it is one token (the trace's path), which is never cut
        Assert.All(lines, l => Assert.True(l.Length <= width || !l.Trim().Contains(' '), $"{l.Length} > {width}: {l}"));
        foreach (var token in new[] { "0000:00:04.0", "0000:00:05.0", "0000:00:06.0", "iommu-dma", "live-at-end" })
            Assert.Contains(token, r.Stdout);
        // Numbers are right-aligned: the cell's figure ends at the column's border.
        Assert.Matches(@"│ 0000:00:04\.0 │ iommu-dma │ +228 │ +228 │", r.Stdout);
        var narrow = CliRunner.Run("replay", Trace, "--width", "60");
        foreach (var token in new[] { "0000:00:04.0", "0000:00:05.0", "0000:00:06.0" }) Assert.Contains(token, narrow.Stdout);
        Assert.Contains(narrow.Stdout.Split('\n'), l => l.Length <= 60 && l.StartsWith("│ live-at-end", StringComparison.Ordinal));
    }

    [Fact]
    public void One_unit_per_column_with_the_exact_value_in_json()
    {
        var r = CliRunner.Run("replay", Trace);
        Assert.Contains("Mapped", r.Stdout);
        Assert.Matches(@"\(MiB\)", r.Stdout);
        Assert.DoesNotMatch(@"\d (B|KiB|MiB) +│ +\d+ (B|KiB|MiB) ", r.Stdout);
        var j = JsonDocument.Parse(CliRunner.Run("replay", Trace, "--json").Stdout).RootElement;
        Assert.True(j.GetProperty("devices")[0].GetProperty("bytesMapped").GetUInt64() > 1 << 20);
    }

    [Fact]
    public void Findings_all_lists_every_instance_and_csv_writes_the_four_tables()
    {
        string dir = CliRunner.TempDir();
        var r = CliRunner.Run("replay", Trace, "--findings", "all", "--csv", dir, "--json");
        Assert.Equal(0, r.ExitCode);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        long counted = j.GetProperty("findingGroups").EnumerateArray().Sum(g => g.GetProperty("count").GetInt64());
        Assert.Equal(counted, j.GetProperty("findings").GetArrayLength());
        var devices = File.ReadAllLines(Path.Combine(dir, "devices.csv"));
        Assert.StartsWith("device,dmaOps,maps,unmaps,", devices[0]);
        Assert.Equal(j.GetProperty("devices").GetArrayLength() + 1, devices.Length);
        Assert.Contains(devices, l => l.StartsWith("0000:00:04.0,iommu-dma,228,228,", StringComparison.Ordinal));
        Assert.StartsWith("phase,line,startSeconds", File.ReadAllLines(Path.Combine(dir, "phases.csv"))[0]);
        var findings = File.ReadAllLines(Path.Combine(dir, "findings.csv"));
        Assert.Equal("kind,informational,device,line,address,message", findings[0]);
        Assert.Matches(@"^live-at-end,true,0000:00:0[56]\.0,\d+,0x[0-9a-f]+,", findings[1]);
        var mappings = File.ReadAllLines(Path.Combine(dir, "mappings.csv"));
        Assert.Equal("device,timeSeconds,liveMappings,liveBytes", mappings[0]);
        Assert.True(mappings.Length > 10);
    }

    [Fact]
    public void Filters_narrow_the_report_and_say_so()
    {
        var r = CliRunner.Run("replay", Trace, "--device", "0000:00:04.0", "--json");
        Assert.Equal(0, r.ExitCode);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal("device 0000:00:04.0", j.GetProperty("filter").GetString());
        Assert.Equal(["0000:00:04.0"], j.GetProperty("devices").EnumerateArray().Select(d => d.GetProperty("name").GetString()));
        var fid = j.GetProperty("fidelity");
        Assert.Equal(fid.GetProperty("compared").GetInt64(), fid.GetProperty("matched").GetInt64());
        var t = CliRunner.Run("replay", Trace, "--from", "0", "--to", "0.000001");
        Assert.Contains("reporting 0 s to 0.000001 s", t.Stdout.Replace("\n", " ", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_fails_on_a_real_leak()
    {
        string dir = CliRunner.TempDir();
        var sb = new StringBuilder(TraceTestUtil.Line("dma_map_phys", "0000:00:04.0 dir=FROM_DEVICE dma_addr=90000000 size=4096 phys_addr=90000000 attrs=", 0.5));
        for (int i = 0; i < 50; i++)
        {
            ulong a = 0x100000 + (ulong)i * 0x1000;
            sb.Append(TraceTestUtil.Line("dma_map_phys", $"0000:00:04.0 dir=FROM_DEVICE dma_addr={a:x} size=4096 phys_addr={a:x} attrs=", 1 + i));
            sb.Append(TraceTestUtil.Line("dma_unmap_phys", $"0000:00:04.0 dir=FROM_DEVICE dma_addr={a:x} size=4096 attrs=", 1 + i + 0.001));
        }
        string f = Path.Combine(dir, "leak.trace");
        File.WriteAllText(f, sb.ToString());
        var r = CliRunner.Run("replay", f, "--check");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("│ leak ", r.Stdout);
        Assert.Contains("1 finding(s) that fail --check", r.Stdout);
    }
}
