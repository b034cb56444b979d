using System.Text;
using DmaLab.Replay;
using static DmaLab.Tests.Trace.TraceTestUtil;

namespace DmaLab.Tests.Replay;

/// <summary>Live at end vs leak (TraceReplayer.Leaks): mappings alive when the trace ends are informational; a leak
/// needs evidence (a kind the device otherwise unmaps, far older than that kind lives; or a growing live count).</summary>
public class ReplayLiveAtEndTests
{
    const string Nic = "0000:00:05.0";

    static string Map(string dev, ulong dma, ulong size, double ts) =>
        Line("dma_map_phys", $"{dev} dir=FROM_DEVICE dma_addr={dma:x} size={size} phys_addr={dma:x} attrs=", ts);

    static string Unmap(string dev, ulong dma, ulong size, double ts) =>
        Line("dma_unmap_phys", $"{dev} dir=FROM_DEVICE dma_addr={dma:x} size={size} attrs=", ts);

    /// <summary>An rx ring of <paramref name="slots"/> 2 KiB buffers: filled at 0, then packets complete in ring
    /// order, each buffer unmapped and a new one mapped in its slot.</summary>
    static string Ring(int slots, int packets)
    {
        var sb = new StringBuilder();
        ulong next = 0x100000;
        var slot = new ulong[slots];
        for (int i = 0; i < slots; i++) { slot[i] = next; sb.Append(Map(Nic, next, 2048, 0.001 * i)); next += 0x1000; }
        for (int p = 0; p < packets; p++)
        {
            double t = 1 + p * 0.01;
            int s = p % slots;
            sb.Append(Unmap(Nic, slot[s], 2048, t));
            slot[s] = next; next += 0x1000;
            sb.Append(Map(Nic, slot[s], 2048, t + 0.000001));
        }
        return sb.ToString();
    }

    [Fact]
    public void A_ring_refilled_as_it_is_unmapped_is_live_at_end_with_the_pattern_named_and_no_leak()
    {
        var r = ReplayText(Ring(64, 200));
        Assert.Equal(64, r.LiveMappingsAtEnd);
        var live = Assert.Single(r.LiveAtEnd);
        Assert.Equal(("ring", 2048UL, 64L, 0L), (live.Pattern, live.CommonSize, live.CommonSizeCount, live.Leaked));
        var f = Assert.Single(r.Findings);
        Assert.Equal(ReplayFindingKinds.LiveAtEnd, f.Kind);
        Assert.Contains("a ring of 64 single mappings of 2048 bytes", f.Message);
        Assert.Equal(0, r.FailingFindings);
        Assert.True(Assert.Single(r.FindingGroups).Informational);
    }

    [Fact]
    public void A_mapping_of_a_kind_the_device_otherwise_unmaps_quickly_is_a_leak_when_far_older()
    {
        var sb = new StringBuilder();
        sb.Append(Map(Nic, 0x9000_0000, 4096, 0.5)); // never unmapped
        for (int i = 0; i < 100; i++)
        {
            sb.Append(Map(Nic, 0x100000 + (ulong)i * 0x1000, 4096, 1 + i * 0.1));
            sb.Append(Unmap(Nic, 0x100000 + (ulong)i * 0x1000, 4096, 1 + i * 0.1 + 0.001));
        }
        var r = ReplayText(sb.ToString());
        var leak = Assert.Single(r.Findings, x => x.Kind == ReplayFindingKinds.Leak);
        Assert.Equal(1, leak.Line);
        Assert.Equal(0x9000_0000UL, leak.Address);
        Assert.Contains("100 mappings of this kind", leak.Message);
        Assert.Equal(1, Assert.Single(r.LiveAtEnd).Leaked);
        Assert.Equal(1, r.FailingFindings);
    }

    [Fact]
    public void A_mapping_younger_than_its_kinds_lifetimes_is_only_live_at_end()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 20; i++)
        {
            sb.Append(Map(Nic, 0x100000 + (ulong)i * 0x1000, 4096, 1 + i));
            sb.Append(Unmap(Nic, 0x100000 + (ulong)i * 0x1000, 4096, 1.5 + i)); // each lives 0.5 s
        }
        sb.Append(Map(Nic, 0x9000_0000, 4096, 20.8)); // live 0.2 s when the trace ends at 21
        sb.Append(Map(Nic, 0x9100_0000, 4096, 21));
        var r = ReplayText(sb.ToString());
        Assert.DoesNotContain(r.Findings, x => x.Kind == ReplayFindingKinds.Leak);
        Assert.Equal(0, r.FailingFindings);
        Assert.Contains("no sign of a leak", Assert.Single(r.Findings).Message);
    }

    [Fact]
    public void A_live_count_that_keeps_growing_is_a_leak_growth()
    {
        // Two mapped and one unmapped per step: the floor of the live count rises quarter after quarter.
        var sb = new StringBuilder();
        ulong a = 0x100000;
        var live = new Queue<ulong>();
        for (int i = 0; i < 200; i++)
        {
            double t = 1 + i * 0.05;
            for (int k = 0; k < 2; k++) { sb.Append(Map(Nic, a, 512 + (ulong)(i % 7) * 64, t)); live.Enqueue(a); a += 0x1000; }
            ulong old = live.Dequeue();
            sb.Append(Unmap(Nic, old, 512 + (ulong)(((old - 0x100000) / 0x1000 / 2) % 7) * 64, t + 0.001));
        }
        var r = ReplayText(sb.ToString());
        var g = Assert.Single(r.Findings, x => x.Kind == ReplayFindingKinds.LeakGrowth);
        Assert.Contains("lowest count per quarter", g.Message);
        Assert.True(r.FailingFindings >= 1);
        Assert.Null(Assert.Single(r.LiveAtEnd).Pattern);
    }

    [Fact]
    public void Findings_are_grouped_by_kind_and_device_with_every_instance_counted()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 70; i++) sb.Append(Unmap(Nic, 0x5000 + (ulong)i * 0x1000, 4096, 1 + i * 0.01));
        sb.Append(Unmap("0000:00:04.0", 0x5000, 4096, 2));
        using var reader = ReaderOf(sb.ToString());
        var all = TraceReplayer.Replay(reader, new ReplayOptions { MaxFindingsPerKind = int.MaxValue });
        Assert.Equal(71, all.Findings.Count);
        Assert.Equal([("unmap-of-unmapped", "0000:00:04.0", 1L), ("unmap-of-unmapped", Nic, 70L)],
            all.FindingGroups.Select(g => (g.Kind, g.Device, g.Count)));
        var first = ReplayText(sb.ToString());
        Assert.Equal(50, first.Findings.Count); // listed
        Assert.Equal(70, first.FindingGroups.Single(g => g.Device == Nic).Count); // counted
    }
}
