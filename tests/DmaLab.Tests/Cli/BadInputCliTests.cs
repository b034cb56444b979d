using System.Text.Json;
using DmaLab.Replay;
using DmaLab.Tests.Replay;

namespace DmaLab.Tests.Cli;

/// <summary>
/// Every file of tests/data/bad-input (traces that crashed, hung or took gigabytes on 2026-12-02) through the real
/// binary in the modes its README names, and in-process in every replay mode: each ends in a result with exit 0, the
/// field that was out of range a malformed event on its line (or, for a buffer the traced machine could have mapped
/// but the what-if machine cannot hold, a what-if finding), in bounded time and memory.
/// </summary>
public class BadInputCliTests
{
    /// <summary>(file, the line refused as malformed or 0, the reason's words, what-if calls beyond DRAM).</summary>
    public static readonly TheoryData<string, long, string, long> Files = new()
    {
        { "alloc0.txt", 3, "dma_alloc of 0 bytes cannot succeed", 0 },
        { "baddev.txt", 2, "'0000:00:05.' starts like a PCI address", 0 },
        { "bigsize_18446744073709551615.txt", 13, "larger than the 1 TiB physical address space", 0 },
        { "bigsize_1099511627776.txt", 0, "", 1 },
        { "sg_hugesize_129.txt", 3, "lists 129 entries; the event records at most 128", 0 },
    };

    static readonly string[][] CliModes = [[], ["--policy", "passthrough"], ["--iommu", "arm-smmu"], ["--iommu", "intel-vtd", "--policy", "lazy"]];

    [Theory]
    [MemberData(nameof(Files))]
    public void Each_bad_input_replays_through_the_binary_in_the_modes_that_broke(string file, long line, string reason, long beyondDram)
    {
        foreach (var mode in CliModes)
        {
            var r = CliRunner.Run(["replay", CliRunner.DataPath("bad-input", file), "--json", .. mode]);
            string what = $"{file} {string.Join(' ', mode)}: {r.Stderr}";
            Assert.True(r.ExitCode == 0, what);
            Assert.Equal("", r.Stderr);
            var j = JsonDocument.Parse(r.Stdout).RootElement;
            Assert.Equal(line == 0 ? 0 : 1, j.GetProperty("malformedEvents").GetInt64());
            if (line != 0)
            {
                var m = j.GetProperty("malformed")[0];
                Assert.Equal(line, m.GetProperty("line").GetInt64());
                Assert.Contains(reason, m.GetProperty("reason").GetString());
            }
            if (mode.Length > 0 && mode[0] == "--iommu")
                Assert.Equal(beyondDram, j.GetProperty("whatIf").GetProperty("whatIf").GetProperty("callsBeyondDram").GetInt64());
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Each_bad_input_replays_in_every_mode_in_bounded_time_and_memory(string file, long line, string reason, long beyondDram)
    {
        _ = reason;
        var bytes = File.ReadAllBytes(CliRunner.DataPath("bad-input", file));
        foreach (var (policy, iommu) in ReplayFuzzTests.Modes)
            FuzzBudget.Bounded($"{file} {policy}/{iommu}", () =>
            {
                var r = ReplayRunner.Run(new MemoryStream(bytes), file, new ReplayRunOptions { Policy = policy, IommuModel = iommu, ReadAhead = false });
                Assert.Equal(line == 0 ? 0 : 1, r.MalformedEvents);
                if (r.WhatIf is { } w) Assert.Equal(beyondDram, w.WhatIf.CallsBeyondDram);
            }, _ => false);
    }

}
