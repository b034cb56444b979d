using System.Text;
using System.Text.RegularExpressions;
using CsCheck;
using DmaLab.Replay;
using DmaLab.Sim;
using DmaLab.Trace;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>
/// Fuzzing of the whole replay: real lines of every event kind (runs of consecutive lines of the captures in
/// tests/data/traces, plus one line of each kind the captures lack, printed by <see cref="TraceEventFormatter"/>),
/// with their fields pushed to the values that break code (0, 2^32, 2^40, 2^64−1, negative counts, sg lists of
/// 129 entries, cut PCI names, escape sequences) and their bytes mutated, replayed as traced and under every
/// what-if policy and IOMMU family. The property: the replay ends in a report or a <see cref="TraceFormatException"/>
/// (the CLI's exit 2), in bounded time and memory (<see cref="FuzzBudget"/>).
/// </summary>
public partial class ReplayFuzzTests
{
    internal static readonly string[] SampleLines = LoadSampleLines();

    static string[] LoadSampleLines()
    {
        var lines = new List<string>();
        foreach (var name in new[] { TraceSamples.H100, TraceSamples.VtdStrict, TraceSamples.VtdSwiotlb, TraceSamples.Smmuv3Strict })
            lines.AddRange(SampleTraceText.Lines("traces/" + name).Where(l => !l.StartsWith('#')));
        lines.AddRange(FormattedLinesOfEveryKind());
        return lines.ToArray();
    }

    /// <summary>A line of each event kind, as the kernel prints it, for the kinds the captures do not have.</summary>
    static IEnumerable<string> FormattedLinesOfEveryKind()
    {
        const string dev = "0000:00:04.0";
        foreach (TraceEventKind kind in Enum.GetValues<TraceEventKind>())
        {
            if (kind == TraceEventKind.Unknown) continue;
            var r = TraceRecord.Create(kind, task: "kworker/0:1", pid: 42, cpu: 1, timestampNs: 5_000_000_000, device: dev)
                .With(DmaLab.Dma.DmaDirection.FromDevice, dmaAddr: 0xfffe0000, physAddr: 0x4280_0000, size: 8192);
            r.SetPhysAddrs([0x4280_0000, 0x4280_2000]);
            r.SetDmaAddrs([0xfffe0000]);
            r.SetLengths([8192]);
            r.SetSg(2, 1, false);
            r.SetSwiotlb(0xffffffff, true);
            r.SetIommu(unmappedSize: 8192, groupId: 3, faultFlags: 0x20, driver: "intel-iommu");
            r.SetAlloc("GFP_KERNEL");
            r.SetMessage("phase-b");
            r.SetError(-12);
            yield return TraceEventFormatter.FormatLine(r);
        }
    }

    static readonly string[] Decimals =
    [
        "0", "1", "-1", "4095", "4096", "65536", "4294967295", "4294967296", "1099511627775", "1099511627776",
        "1099511627777", "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "-2147483648", "2147483647", "99999999999999999999999",
    ];

    static readonly string[] Hexes =
    [
        "0", "1", "fff", "1000", "ffffffff", "100000000", "ffffffffff", "10000000000", "8000000000000000",
        "fffffffffffff000", "ffffffffffffffff", "0xfffff000", "0x0", "xyz", "",
    ];

    static readonly string[] Devices =
    [
        "0000:00:05.", "0000:00:04.0", "0000:00:1f.7", "0000:00:20.0", "ffff:ff:1f.7", "00:04.0", "", "9050000.smmuv3",
        "\u001b[31mred\u001b[0m", "\u001b]0;owned\u0007", "dev[bold]x[/]", "a:b:c.d", new string('d', 300), "0000:00:04.0\u009b2J",
    ];

    static readonly string[] Dirs = ["BIDIRECTIONAL", "TO_DEVICE", "FROM_DEVICE", "NONE", "0", "3", "4", "7", "SIDEWAYS", ""];

    [GeneratedRegex(@"(?<key>[a-z_]+)=(?<val>\{[^}]*\}?|\S*)")]
    private static partial Regex Field();

    /// <summary>One field-level mutation of a line: a value replaced by one that breaks code, an array grown or cut,
    /// the device name replaced.</summary>
    static string MutateField(string line, Rng rng)
    {
        var fields = Field().Matches(line);
        if (rng.Chance(0.2) || fields.Count == 0) return ReplaceDevice(line, rng);
        var f = fields[rng.Next(0, fields.Count)];
        string key = f.Groups["key"].Value, val = f.Groups["val"].Value, repl;
        if (val.StartsWith('{')) repl = MutateArray(val, rng);
        else if (key == "dir") repl = Pick(Dirs, rng);
        else if (key is "nents" or "ents") repl = $"{Pick(Decimals, rng)}/{Pick(Decimals, rng)}";
        else if (key is "size" or "unmapped_size" or "err" or "groupID") repl = Pick(Decimals, rng);
        else if (key is "attrs") repl = rng.Chance(0.5) ? "SKIP_CPU_SYNC|0xffffffffffffffff" : "MMIO|WEAK_ORDERING";
        else repl = Pick(Hexes, rng);
        var g = f.Groups["val"];
        return line[..g.Index] + repl + line[(g.Index + g.Length)..];
    }

    static string MutateArray(string val, Rng rng)
    {
        var items = val.Trim('{', '}').Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (items.Count == 0) items.Add("0x1000");
        int target = rng.Next(0, 5) switch { 0 => 0, 1 => 1, 2 => 128, 3 => 129, _ => rng.Next(100, 300) };
        var grown = new List<string>(target);
        for (int i = 0; i < target; i++) grown.Add(rng.Chance(0.1) ? "0x" + Pick(Hexes, rng) : items[i % items.Count]);
        return "{" + string.Join(",", grown) + (rng.Chance(0.9) ? "}" : "");
    }

    static string ReplaceDevice(string line, Rng rng)
    {
        var m = Regex.Match(line, @": (?:dev_name: )?(?<dev>[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9]|[0-9a-f]+\.[a-z0-9]+) ");
        if (!m.Success) return line;
        var g = m.Groups["dev"];
        return line[..g.Index] + Pick(Devices, rng) + line[(g.Index + g.Length)..];
    }

    static readonly byte[] Interesting = "0123456789abcdefx{},=|:-[]() .\t\r\0\u00ff\u001b"u8.ToArray();

    static byte[] MutateBytes(byte[] line, Rng rng)
    {
        var l = line.ToList();
        int at = rng.Next(0, Math.Max(1, l.Count));
        byte b = rng.Chance(0.7) ? Interesting[rng.Next(0, Interesting.Length)] : (byte)rng.NextU64();
        switch (rng.Next(0, 4))
        {
            case 0 when l.Count > 0: l[at] = b; break;
            case 1: l.Insert(Math.Min(at, l.Count), b); break;
            case 2 when l.Count > 0: l.RemoveRange(at, l.Count - at); break;
            default: l.InsertRange(Math.Min(at, l.Count), Enumerable.Repeat((byte)'f', rng.Next(1, 40))); break;
        }
        return l.ToArray();
    }

    static T Pick<T>(T[] a, Rng rng) => a[rng.Next(0, a.Length)];

    /// <summary>A trace of a run of real lines (a map and its unmap are often both in it), some fields and bytes
    /// mutated, sometimes a LOST EVENTS line or a line repeated.</summary>
    internal static byte[] MutatedTrace(ulong seed)
    {
        var rng = new Rng(seed);
        int start = rng.Next(0, SampleLines.Length), count = rng.Next(1, 16);
        var text = new MemoryStream();
        text.Write("# tracer: nop\n"u8);
        if (rng.Chance(0.3)) text.Write(Encoding.ASCII.GetBytes($"# entries-in-buffer/entries-written: 1/1   #P:{Pick(Decimals, rng)}\n"));
        for (int i = 0; i < count; i++)
        {
            string line = SampleLines[(start + i) % SampleLines.Length];
            if (rng.Chance(0.1)) line = SampleLines[rng.Next(0, SampleLines.Length)];
            int fieldMutations = rng.Chance(0.4) ? rng.Next(1, 4) : 0;
            for (int k = 0; k < fieldMutations; k++) line = MutateField(line, rng);
            var bytes = Encoding.UTF8.GetBytes(line);
            if (rng.Chance(0.15)) bytes = MutateBytes(bytes, rng);
            text.Write(bytes);
            text.WriteByte((byte)'\n');
            if (rng.Chance(0.05)) text.Write(Encoding.ASCII.GetBytes($"CPU:{rng.Next(0, 4)} [LOST {Pick(Decimals, rng)} EVENTS]\n"));
            if (rng.Chance(0.05)) { text.Write(bytes); text.WriteByte((byte)'\n'); }
        }
        return text.ToArray();
    }

    /// <summary>The replay modes of `dmalab replay`: as traced, each --policy, each --iommu.</summary>
    internal static readonly (ReplayPolicy? Policy, string? Iommu)[] Modes =
    [
        (null, null), (ReplayPolicy.Lazy, null), (ReplayPolicy.Passthrough, null), (ReplayPolicy.SwiotlbForce, null),
        (null, "intel-vtd"), (null, "arm-smmu"), (null, "arm-smmu-v3"), (null, "amd-vi"),
    ];

    static void Replay(byte[] trace, (ReplayPolicy? Policy, string? Iommu) mode, ulong seed)
    {
        string what = $"seed {seed} mode {mode.Policy?.ToString() ?? "as-traced"}/{mode.Iommu ?? "-"}:\n{Encoding.UTF8.GetString(trace[..Math.Min(trace.Length, 4000)])}";
        FuzzBudget.Bounded(what, () =>
        {
            var r = ReplayRunner.Run(new MemoryStream(trace), "fuzz.trace",
                new ReplayRunOptions { Policy = mode.Policy, IommuModel = mode.Iommu, ReadAhead = false });
            Assert.True(r.SkippedLines >= r.MalformedEvents);
        }, e => e is TraceFormatException);
    }

    [Fact]
    public void Mutated_real_lines_replay_as_traced_in_bounded_time_and_memory() =>
        Gen.ULong.Sample(seed => Replay(MutatedTrace(seed), Modes[0], seed), iter: FuzzBudget.Cases(1200));

    [Fact]
    public void Mutated_real_lines_replay_under_every_what_if_in_bounded_time_and_memory() =>
        Gen.ULong.Sample(seed => Replay(MutatedTrace(seed), Modes[1 + (int)(seed % 7)], seed), iter: FuzzBudget.Cases(400));
}
