using System.Text;
using CsCheck;
using DmaLab.Dma;
using DmaLab.Sim;
using DmaLab.Trace;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Trace;

/// <summary>
/// The reader's fixed-layout fast paths (header columns, and the fields of map/unmap/sg/iommu/swiotlb events) must
/// give exactly the records, stats and device tables that the general parser gives: on the real captures, on
/// hand-made lines at the edges of each layout, and (in <see cref="FtraceReaderBadInputTests"/>) on mutated lines.
/// </summary>
public class FtraceFastPathTests
{
    /// <summary>Every field of a record, lists included, as text (for exact comparison with a readable diff).</summary>
    internal static string Describe(TraceRecord r) =>
        $"{r.Line} {r.Kind} {r.EventName} task='{r.Task}' pid={r.Pid} cpu={r.Cpu} flags='{r.Flags}' ts={r.TimestampNs} " +
        $"dev='{r.Device}'#{r.DeviceId} dir={r.Dir} attrs={r.Attrs} dma={r.DmaAddr:x} phys={r.PhysAddr:x} size={r.Size} " +
        $"unmapped={r.UnmappedSize} mask={r.DmaMask:x} forced={r.Forced} nents={r.FullNents} ents={r.FullEnts} " +
        $"trunc={r.Truncated} err={r.Error} group={r.GroupId} fault={r.FaultFlags} gfp='{r.Gfp}' drv='{r.Driver}' " +
        $"msg='{r.Message}' phys=[{string.Join(',', r.PhysAddrs.ToArray())}] dmas=[{string.Join(',', r.DmaAddrs.ToArray())}] " +
        $"lens=[{string.Join(',', r.Lengths.ToArray())}]";

    internal static string DescribeStats(FtraceReader reader)
    {
        var s = reader.Stats;
        var sb = new StringBuilder();
        sb.Append($"lines={s.Lines} comments={s.CommentLines} blank={s.BlankLines} events={s.EventLines} ")
          .Append($"unknown={s.UnknownEventLines} malformed={s.MalformedLines} lost={s.LostEventCount} ")
          .Append($"first={s.FirstTimestampNs} last={s.LastTimestampNs} cpus={s.Cpus} tracer={s.Tracer}\n");
        foreach (var kv in s.EventCounts) sb.Append($"{kv.Key}={kv.Value}\n");
        foreach (var m in s.Malformed) sb.Append($"malformed {m.Line}: {m.Reason}\n");
        foreach (var l in s.Lost) sb.Append($"lost {l.Line}: {l.Cpu} {l.Count}\n");
        sb.Append("devices: ").AppendJoin(',', reader.Devices.Names);
        return sb.ToString();
    }

    /// <summary>Everything a reader gives for <paramref name="bytes"/>: each record (unknown events included), then
    /// the stats and device table, or the error it ends with.</summary>
    static (string Text, int Records) Transcript(byte[] bytes, string name, bool generalOnly)
    {
        var sb = new StringBuilder();
        int n = 0;
        FtraceReader? reader = null;
        try
        {
            reader = new FtraceReader(new MemoryStream(bytes), name,
                new FtraceReaderOptions { ReturnUnknownEvents = true, GeneralParserOnly = generalOnly });
            while (reader.Read()) { sb.Append(Describe(reader.Current)).Append('\n'); n++; }
            sb.Append(DescribeStats(reader));
        }
        catch (TraceFormatException ex) { sb.Append("error: ").Append(ex.Message); }
        finally { reader?.Dispose(); }
        return (sb.ToString(), n);
    }

    /// <summary>Reads <paramref name="bytes"/> with the fast paths and with the general parser only, and asserts
    /// the same transcript (records, stats, devices, errors). Returns the records read.</summary>
    internal static int AssertSameAsGeneral(byte[] bytes, string name)
    {
        var general = Transcript(bytes, name, generalOnly: true);
        var fast = Transcript(bytes, name, generalOnly: false);
        if (general.Text != fast.Text)
            Assert.Fail($"fast path and general parser differ on:\n{Encoding.UTF8.GetString(bytes)}\n--- general:\n{general.Text}\n--- fast:\n{fast.Text}");
        return fast.Records;
    }

    static byte[] Decompressed(string sample)
    {
        using var xz = new SharpCompress.Compressors.Xz.XZStream(File.OpenRead(TraceSamples.PathOf(sample)));
        var ms = new MemoryStream();
        xz.CopyTo(ms);
        return ms.ToArray();
    }

    [Theory]
    [InlineData(TraceSamples.H100)]
    [InlineData(TraceSamples.VtdStrict)]
    [InlineData(TraceSamples.VtdSwiotlb)]
    [InlineData(TraceSamples.Smmuv3Strict)]
    public void Real_captures_read_the_same_with_and_without_the_fast_paths(string sample)
    {
        var bytes = Decompressed(sample);
        int n = AssertSameAsGeneral(bytes, sample);
        Assert.True(n > 1000, $"{sample}: {n} records");
    }

    [Theory]
    [InlineData(TraceSamples.H100, 0.99)]
    [InlineData(TraceSamples.VtdStrict, 0.95)]
    [InlineData(TraceSamples.VtdSwiotlb, 0.95)]
    public void The_fast_paths_take_almost_every_line_of_the_real_captures(string sample, double atLeast)
    {
        // Not vacuous: the comparison above only means something if the fast paths really run on these lines.
        var parser = new FtraceLineParser(new NameTable(), new NameTable());
        int events = 0, header = 0, fields = 0;
        foreach (var text in Encoding.UTF8.GetString(Decompressed(sample)).Split('\n'))
        {
            var line = Encoding.UTF8.GetBytes(text);
            if (FtraceLineParser.Classify(line, out var g, out _, out _, out _) != FtraceLineParser.LineType.Event) continue;
            events++;
            FtraceLineParser.Header h = default;
            if (FtraceLineParser.TryParseHeaderFast(line, ref h)) header++;
            var kind = TraceEventNames.KindOf(Encoding.ASCII.GetString(g.Event));
            var r = new TraceRecord();
            r.Reset();
            if (kind is TraceEventKind.TracingMarkWrite or TraceEventKind.DmaAlloc or TraceEventKind.DmaFree
                || parser.TryParseFieldsFast(kind, g.Fields, r)) fields++;
        }
        Assert.True(header >= atLeast * events, $"{sample}: fast header on {header} of {events} event lines");
        Assert.True(fields >= atLeast * events, $"{sample}: fast fields on {fields} of {events} event lines");
    }

    public static TheoryData<string> EdgeLines() =>
    [
        // The usual shapes.
        "  python3-594     [015] .....    62.784877: dma_map_phys: 0000:00:06.0 dir=BIDIRECTIONAL dma_addr=152260000 size=4096 phys_addr=152260000 attrs=",
        "  python3-594     [015] .....    62.784877: dma_unmap_phys: 0000:00:06.0 dir=TO_DEVICE dma_addr=152260000 size=4096 attrs=SKIP_CPU_SYNC|0x1000000",
        "  python3-594     [015] .....    62.784877: dma_map_sg: 0000:00:06.0 dir=FROM_DEVICE nents=2/2 ents=1/1 dma_addrs={0x1000} sizes={0x2000} phys_addrs={0x1000,0x2000} attrs=",
        "  python3-594     [015] .....    62.784877: dma_map_sg: 0000:00:06.0 dir=NONE nents=1/149 ents=1/149 [TRUNCATED] dma_addrs={0x1000} sizes={0x1000} phys_addrs={0x1000} attrs=",
        "  python3-594     [015] .....    62.784877: dma_unmap_sg: 0000:00:06.0 dir=BIDIRECTIONAL phys_addrs={} attrs=",
        "  kworker/u4:1-29 [000] .....     3.354754: map: IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 paddr=0x0000000011b45000 size=4096",
        "  kworker/u4:1-29 [000] .....     3.354754: unmap: IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 size=4096 unmapped_size=4096",
        "  fio-1 [000] d..1.     3.354754: swiotlb_bounced: dev_name: 0000:00:04.0 dma_mask=ffffffffffffffff dev_addr=1234 size=512 FORCE",
        "  fio-1 [000] d..1.     3.354754: swiotlb_bounced: dev_name: 0000:00:04.0 dma_mask=ffffffff dev_addr=1234 size=512 NORMAL",
        // Edges the fast paths leave to the general parser (or reject the same way).
        "  my task-with-dash-12 [001] 100.5: dma_map_phys: dev dir=BIDIRECTIONAL dma_addr=0x10 size=16 phys_addr=0X10 attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_phys: dev dir=2 dma_addr=10 size=16 phys_addr=10 attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_phys: dev  dir=TO_DEVICE dma_addr=10 size=16 phys_addr=10 attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=10 size=16 phys_addr=10 attrs= ",
        "  t-1 [001] ..... 1.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=10 size=12345678901234567890 phys_addr=10 attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=10000000000000000 size=1 phys_addr=10 attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=0x size=1 phys_addr=10 attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_phys: d=v dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_phys: dev dir=TO_DEVICE size=1 dma_addr=1 phys_addr=10 attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=BOGUS NAME",
        "  t-1 [001] ..... 1.000001: dma_map_sg: dev dir=TO_DEVICE nents=-1/2 ents=1/1 dma_addrs={0x1} sizes={0x1} phys_addrs={0x1} attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_sg: dev dir=TO_DEVICE nents=1/2/3 ents=1/1 dma_addrs={0x1} sizes={0x1} phys_addrs={0x1} attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_sg: dev dir=TO_DEVICE nents=2 ents=2 dma_addrs={0x1,0x2 sizes={0x1} phys_addrs={0x1,0x2} attrs=",
        "  t-1 [001] ..... 1.000001: dma_map_sg: dev dir=TO_DEVICE nents=2 ents=2 dma_addrs={0x1,} sizes={0x1} phys_addrs={0x1,0x2}} attrs=",
        "  t-1 [001] ..... 1.000001: dma_unmap_sg: dev dir=TO_DEVICE phys_addrs={0x1,0x2,0x3",
        "  t-1 [001] ..... 1.000001: unmap: IOMMU: iova=0x1 - 0x2 size=1 unmapped_size=1 extra=5",
        "  t-1 [001] ..... 1.000001: map: IOMMU: iova=0x1 - 0x2 size=1",
        "  t-1 [001] ..... 1.000001: swiotlb_bounced: dev_name:  dev dma_mask=1 dev_addr=2 size=3 FORCE",
        "  t-1 (  77) [001] ..... 1.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  t-1 [001] 1.000001: dma:dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "\tt-1 [001] ..... 1.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  t-1 [001]\t..... 1.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  t-1 [001] .....   1.000001:\tdma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  t-1234567890 [001] ..... 1.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  t-1 [0000000001] ..... 1.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  t-1 [1] ..... 123456789012.000001: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  [x]-1 [1] ..... 1.5: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  -1 [1] ..... 1.5: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  CPU-1 [1] ..... 1.5: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  version-1 [1] ..... 1.5: dma_map_phys: dev dir=TO_DEVICE dma_addr=1 size=1 phys_addr=10 attrs=",
        "  t-1 [1] ..... 1.5: dma_map_phys:",
        "  t-1 [1] ..... 1.5: some_event: whatever=1",
    ];

    [Theory]
    [MemberData(nameof(EdgeLines))]
    public void Edge_lines_read_the_same_with_and_without_the_fast_paths(string line)
    {
        AssertSameAsGeneral(Encoding.UTF8.GetBytes(line + "\n" + line + "\r\n"), "edge.trace");
    }

    static readonly TraceEventKind[] FastKinds =
    [
        TraceEventKind.DmaMapPhys, TraceEventKind.DmaUnmapPhys, TraceEventKind.DmaMapResource, TraceEventKind.DmaUnmapResource,
        TraceEventKind.DmaMapSg, TraceEventKind.DmaUnmapSg, TraceEventKind.IommuMap, TraceEventKind.IommuUnmap,
        TraceEventKind.SwiotlbBounced, TraceEventKind.DmaAlloc, TraceEventKind.DmaSyncSingleForCpu,
    ];

    static readonly byte[] Interesting = "0123456789abcdefxX{},=|:-/[]() .\tTRUNCATED_"u8.ToArray();

    static readonly string[] Tokens =
        [" FORCE", " [TRUNCATED]", " size=5", " dma_addr=7", " phys_addrs={0x9}", " attrs=MMIO", " dir=NONE", " x", "  ", " -"];

    /// <summary>A line as the kernel prints it for a random record of a kind with a fast path.</summary>
    static string RandomLine(Rng rng)
    {
        var kind = FastKinds[rng.Next(0, FastKinds.Length)];
        var r = TraceRecord.Create(kind, task: rng.Chance(0.5) ? "kworker/u4:1" : "fio", pid: rng.Next(1, 5000),
            cpu: rng.Next(0, 64), timestampNs: rng.NextU64() % 100_000_000_000_000UL, device: rng.Chance(0.5) ? "0000:00:04.0" : "ff200000.dma");
        ulong Addr() => rng.Chance(0.2) ? rng.NextU64() : rng.NextU64() % (1UL << 40);
        r.With((DmaDirection)rng.Next(0, 4), Addr(), Addr(), rng.Chance(0.1) ? rng.NextU64() : (ulong)rng.Next(1, 1 << 22),
               rng.Chance(0.7) ? DmaAttrs.None : (DmaAttrs)(rng.NextU64() & 0x7FFFF));
        r.SetFlags(rng.Chance(0.8) ? "d.h1." : "");
        int n = rng.Next(0, 6);
        var list = new ulong[n];
        for (int i = 0; i < n; i++) list[i] = Addr();
        r.SetPhysAddrs(list);
        r.SetDmaAddrs(list);
        r.SetLengths(list);
        if (rng.Chance(0.3)) r.SetSg(n + rng.Next(0, 200), n + rng.Next(0, 200), false);
        r.SetIommu(unmappedSize: (ulong)rng.Next(0, 1 << 20));
        r.SetSwiotlb(rng.NextU64(), rng.Chance(0.5));
        r.SetAlloc("GFP_KERNEL");
        return TraceEventFormatter.FormatLine(r, legacyNames: rng.Chance(0.5));
    }

    [Fact]
    public void Kernel_layout_lines_with_small_mutations_read_the_same_with_and_without_the_fast_paths()
    {
        Gen.ULong.Sample(seed =>
        {
            var rng = new Rng(seed);
            var text = new List<byte>();
            for (int l = 0; l < 8; l++)
            {
                var line = Encoding.UTF8.GetBytes(RandomLine(rng)).ToList();
                int mutations = rng.Chance(0.3) ? 0 : rng.Next(1, 3);
                for (int m = 0; m < mutations && line.Count > 0; m++)
                {
                    int at = rng.Next(0, line.Count);
                    byte b = Interesting[rng.Next(0, Interesting.Length)];
                    switch (rng.Next(0, 4))
                    {
                        case 0: line[at] = b; break;
                        case 1: line.Insert(at, b); break;
                        case 2: line.RemoveAt(at); break;
                        default:
                            // A whole token the general parser reacts to, anywhere (the end included).
                            var tok = Tokens[rng.Next(0, Tokens.Length)];
                            line.InsertRange(rng.Chance(0.5) ? line.Count : at, Encoding.ASCII.GetBytes(tok));
                            break;
                    }
                }
                text.AddRange(line);
                text.Add((byte)'\n');
            }
            AssertSameAsGeneral(text.ToArray(), "mutated.trace");
        }, iter: 300);
    }
}
