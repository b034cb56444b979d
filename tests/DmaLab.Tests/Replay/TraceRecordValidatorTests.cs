using System.Text;
using DmaLab.Replay;
using DmaLab.Tests.Trace;
using DmaLab.Trace;
using static DmaLab.Tests.Trace.TraceTestUtil;

namespace DmaLab.Tests.Replay;

/// <summary>The validation boundary: records the kernel could not have produced are malformed events, counted and
/// listed with their line, and the replay goes on with the next line; real captures have none.</summary>
public class TraceRecordValidatorTests
{
    const string Dev = "0000:00:04.0";

    static string Map(string fields, double ts = 1) => Line("dma_map_phys", fields, ts);

    static readonly string Good = Map($"{Dev} dir=TO_DEVICE dma_addr=2000 size=4096 phys_addr=2000 attrs=", ts: 2);

    /// <summary>Replays <paramref name="bad"/> then a good map: one malformed event on line 1 whose reason contains
    /// <paramref name="reason"/>, and the good line replayed.</summary>
    static void Refused(string bad, string reason)
    {
        var r = ReplayText(bad + Good, new MachineReplayModel());
        Assert.Equal(1, r.MalformedEvents);
        Assert.Equal(1, r.SkippedLines);
        var m = Assert.Single(r.Malformed);
        Assert.Equal(1, m.Line);
        Assert.Contains(reason, m.Reason);
        Assert.Equal(1, r.Maps);
        Assert.Equal(1, r.Fidelity.Compared);
    }

    [Fact]
    public void A_size_that_wraps_the_address_space_is_refused() =>
        Refused(Map($"{Dev} dir=BIDIRECTIONAL dma_addr=270e6a000 size=18446744073709551615 phys_addr=270e6a000 attrs="), "larger than the 1 TiB");

    [Fact]
    public void A_buffer_that_wraps_at_the_top_is_refused() =>
        Refused(Map($"{Dev} dir=BIDIRECTIONAL dma_addr=fffffffffffff000 size=8192 phys_addr=1000 attrs="), "wraps the 64-bit address space");

    [Fact]
    public void A_cut_pci_name_is_refused() =>
        Refused(Map("0000:00:05. dir=FROM_DEVICE dma_addr=fff15040 size=1522 phys_addr=11fa8040 attrs="), "starts like a PCI address");

    [Fact]
    public void A_pci_slot_beyond_31_is_refused() =>
        Refused(Map("0000:00:20.0 dir=FROM_DEVICE dma_addr=1000 size=64 phys_addr=1000 attrs="), "not one");

    [Fact]
    public void A_successful_zero_byte_alloc_is_refused() =>
        Refused(Line("dma_alloc", $"{Dev} dir=BIDIRECTIONAL dma_addr=fffff000 size=0 virt_addr=(____ptrval____) flags=GFP_KERNEL attrs="), "of 0 bytes cannot succeed");

    [Fact]
    public void A_failed_zero_byte_alloc_is_an_alloc_error_not_malformed()
    {
        var r = ReplayText(Line("dma_alloc", $"{Dev} dir=BIDIRECTIONAL dma_addr=0 size=0 virt_addr=(____ptrval____) flags=GFP_KERNEL attrs="));
        Assert.Equal(0, r.MalformedEvents);
        Assert.Equal(1, r.FindingCounts["alloc-error"]);
    }

    static string Sg(int listed, int nents, int ents, ulong len, bool truncated = false)
    {
        var dma = string.Join(",", Enumerable.Range(0, listed).Select(i => $"0x{0xfff00000 + (ulong)i * 0x1000:x}"));
        var sizes = string.Join(",", Enumerable.Range(0, listed).Select(_ => $"0x{len:x}"));
        var phys = string.Join(",", Enumerable.Range(0, listed).Select(i => $"0x{0x42800000 + (ulong)i * 0x1000:x}"));
        return Line("dma_map_sg", $"{Dev} dir=TO_DEVICE nents={Math.Min(nents, 128)}/{nents} ents={Math.Min(ents, 128)}/{ents}{(truncated ? " [TRUNCATED]" : "")} dma_addrs={{{dma}}} sizes={{{sizes}}} phys_addrs={{{phys}}} attrs=");
    }

    [Fact]
    public void An_sg_list_longer_than_the_event_holds_is_refused() => Refused(Sg(129, 129, 129, 0x1000), "at most 128");

    [Fact]
    public void An_sg_list_longer_than_its_nents_is_refused() => Refused(Sg(3, 2, 2, 0x1000), "lists 3 entries of 2");

    [Fact]
    public void More_ents_than_nents_is_refused() => Refused(Sg(2, 2, 3, 0x1000), "never split");

    [Fact]
    public void An_sg_length_beyond_32_bits_is_refused() => Refused(Sg(2, 2, 2, 0x1_0000_0000), "32 bits");

    [Fact]
    public void Negative_nents_is_refused() =>
        Refused(Line("dma_map_sg", $"{Dev} dir=TO_DEVICE nents=1/-1 ents=1/1 dma_addrs={{0x1000}} sizes={{0x1000}} phys_addrs={{0x1000}} attrs="), "negative");

    [Fact]
    public void A_truncated_list_of_128_of_149_is_accepted()
    {
        var r = ReplayText(Sg(128, 149, 149, 0x1000, truncated: true), new MachineReplayModel());
        Assert.Equal(0, r.MalformedEvents);
        Assert.Equal(1, r.Maps);
    }

    [Fact]
    public void A_map_beyond_the_mask_the_platform_states_is_refused()
    {
        var spec = DmaLab.Platform.PlatformLoader.Load(new StringReader(
            "name: p\narch: x86_64\nmemory: [{ base: 0, size: 4G }]\ndevices:\n  - { name: \"0000:00:04.0\", bus: pci, dmaMask: 32 }\n"), "p.yaml");
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(
            Map($"{Dev} dir=TO_DEVICE dma_addr=ffffff00 size=4096 phys_addr=ffffff00 attrs=") + Good));
        var r = ReplayRunner.Run(input, "t", new ReplayRunOptions { Platform = spec });
        Assert.Equal(1, r.MalformedEvents);
        Assert.Contains("DMA mask 0xffffffff", r.Malformed[0].Reason);
    }

    [Fact]
    public void Malformed_events_are_listed_in_line_order_with_parser_malformed_lines()
    {
        string bad = Map($"{Dev} dir=BIDIRECTIONAL dma_addr=1000 size=18446744073709551615 phys_addr=1000 attrs=");
        var r = ReplayText("garbage that is no event\n" + Good + bad);
        Assert.Equal(2, r.SkippedLines);
        Assert.Equal(1, r.MalformedEvents);
        Assert.Equal([1L, 3L], r.Malformed.Select(m => m.Line));
        Assert.Contains("dma_map_phys", r.Malformed[1].Text);
    }

    [Theory]
    [InlineData(TraceSamples.H100)]
    [InlineData(TraceSamples.VtdStrict)]
    [InlineData(TraceSamples.VtdSwiotlb)]
    [InlineData(TraceSamples.Smmuv3Strict)]
    public void Real_captures_have_no_malformed_events(string sample)
    {
        using var input = File.OpenRead(TraceSamples.PathOf(sample));
        var r = ReplayRunner.Run(input, sample);
        Assert.Equal(0, r.MalformedEvents);
        Assert.Equal(0, r.SkippedLines);
    }
}

