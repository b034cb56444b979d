using DmaLab.Trace;
using static DmaLab.Tests.Trace.TraceTestUtil;
using DmaLab.Replay;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>Replay bookkeeping rules on small hand-written traces (dma-debug semantics, Linux kernel/dma/debug.c).</summary>
public class TraceReplayerTests
{
    const string Dev = "0000:00:04.0";

    static string Map(ulong dma, ulong size, string dir = "FROM_DEVICE", double ts = 1, string task = "drv", int pid = 100, string attrs = "", ulong? phys = null) =>
        Line("dma_map_phys", $"{Dev} dir={dir} dma_addr={dma:x} size={size} phys_addr={phys ?? dma:x} attrs={attrs}", ts, task, pid);

    static string Unmap(ulong dma, ulong size, string dir = "FROM_DEVICE", double ts = 2, string task = "drv", int pid = 100) =>
        Line("dma_unmap_phys", $"{Dev} dir={dir} dma_addr={dma:x} size={size} attrs=", ts, task, pid);

    [Fact]
    public void Unmap_of_unmapped_is_a_finding_on_its_line()
    {
        var r = ReplayText(Map(0x1000, 4096) + Unmap(0x1000, 4096) + Unmap(0x5000, 4096));
        var f = Assert.Single(r.Findings);
        Assert.Equal("unmap-of-unmapped", f.Kind);
        Assert.Equal(3, f.Line);
        Assert.Equal(Dev, f.Device);
        Assert.Equal(0x5000UL, f.Address);
        Assert.Equal(1, r.UnmatchedUnmaps);
        Assert.Equal(0, r.LiveMappingsAtEnd);
    }

    [Fact]
    public void The_same_buffer_mapped_twice_is_two_live_mappings_and_a_cacheline_overlap()
    {
        var r = ReplayText(Map(0x1000, 4096) + Map(0x1000, 4096, ts: 1.5) + Unmap(0x1000, 4096));
        Assert.Equal(1, r.LiveMappingsAtEnd);
        Assert.Equal(0, r.UnmatchedUnmaps);
        var overlap = Assert.Single(r.Findings, f => f.Kind == "cacheline-overlap");
        Assert.Equal(2, overlap.Line);
        Assert.Single(r.Findings, f => f.Kind == "live-at-end");
    }

    [Fact]
    public void Overlap_check_skips_to_device_and_skip_cpu_sync_as_dma_debug_does()
    {
        var r = ReplayText(Map(0x1000, 64, "TO_DEVICE") + Map(0x1020, 64, "TO_DEVICE") +
                           Map(0x2000, 64, attrs: "SKIP_CPU_SYNC") + Map(0x2010, 64, attrs: "SKIP_CPU_SYNC") +
                           Map(0x3000, 64) + Map(0x3040, 64) + Map(0x3030, 64));
        // 0x3000 and 0x3030 share the cacheline 0x3000; 0x3040 is the next line.
        var f = Assert.Single(r.Findings, x => x.Kind == "cacheline-overlap");
        Assert.Equal(7, f.Line);
    }

    [Fact]
    public void Size_and_direction_mismatches_are_reported_and_the_best_match_is_taken()
    {
        var r = ReplayText(Map(0x1000, 4096) + Map(0x1000, 512, "TO_DEVICE") + Unmap(0x1000, 512, "TO_DEVICE") + Unmap(0x1000, 8192, "BIDIRECTIONAL"));
        Assert.Equal(0, r.LiveMappingsAtEnd);
        Assert.Equal(1, r.FindingCounts["unmap-size-mismatch"]);
        Assert.Equal(1, r.FindingCounts["unmap-direction-mismatch"]);
        Assert.All(r.Findings.Where(f => f.Kind.StartsWith("unmap-")), f => Assert.Equal(4, f.Line));
    }

    [Fact]
    public void Sg_unmap_matches_the_list_not_just_its_first_page()
    {
        string sg(string lists, double ts) => Line("dma_map_sg", $"{Dev} dir=FROM_DEVICE nents=2/2 ents=2/2 {lists} attrs=", ts);
        string text =
            sg("dma_addrs={0x1000,0x8000} sizes={0x1000,0x1000} phys_addrs={0x1000,0x8000}", 1) +
            sg("dma_addrs={0x1000,0x9000} sizes={0x1000,0x2000} phys_addrs={0x1000,0x9000}", 2) +
            Line("dma_unmap_sg", $"{Dev} dir=FROM_DEVICE phys_addrs={{0x1000,0x8000}} attrs=", 3);
        var r = ReplayText(text, new IdentityReplayModel());
        var d = Assert.Single(r.Devices);
        Assert.Equal(1, d.LiveMappingsAtEnd);
        Assert.Equal(0x3000, d.LiveBytesAtEnd); // the 0x1000+0x2000 list is the one left
        Assert.Equal(2, r.Fidelity.Compared);
        Assert.Equal(2, r.Fidelity.Matched);
    }

    [Fact]
    public void Unmaps_in_interrupt_context_release_the_mapping_process_live_count()
    {
        var r = ReplayText(Map(0x1000, 4096, task: "dd", pid: 163) + Unmap(0x1000, 4096, task: "<idle>", pid: 0));
        var dd = r.Processes.Single(p => p.Name == "dd-163");
        var idle = r.Processes.Single(p => p.Name == "<idle>-0");
        Assert.Equal(1, dd.Maps);
        Assert.Equal(0, dd.LiveMappingsAtEnd);
        Assert.Equal(4096UL, dd.BytesUnmapped);
        Assert.Equal(1, idle.Unmaps);
        Assert.Equal(0, idle.Maps);
    }

    [Fact]
    public void Coherent_allocations_are_tracked_apart_and_not_comparable_under_dma_direct()
    {
        string alloc(ulong a, ulong s, double ts) => Line("dma_alloc", $"{Dev} dir=BIDIRECTIONAL dma_addr={a:x} size={s} virt_addr=(____ptrval____) flags=GFP_KERNEL attrs=", ts);
        string free(ulong a, ulong s, double ts) => Line("dma_free", $"{Dev} dir=BIDIRECTIONAL dma_addr={a:x} size={s} virt_addr=(____ptrval____) attrs=", ts);
        var r = ReplayText(alloc(0x10000, 512, 1) + alloc(0x20000, 4096, 2) + free(0x10000, 512, 3) + free(0x30000, 64, 4), new IdentityReplayModel());
        Assert.Equal(0, r.LiveMappingsAtEnd);
        Assert.Equal(1, r.LiveAllocsAtEnd);
        Assert.Equal(2, r.Fidelity.NotComparable);
        Assert.Equal(0, r.Fidelity.Compared);
        var f = Assert.Single(r.Findings);
        Assert.Equal("free-of-unallocated", f.Kind);
        Assert.Equal(4, f.Line);
    }

    [Fact]
    public void Identity_model_mismatches_are_listed_with_line_device_and_addresses()
    {
        var r = ReplayText(Map(0xffffd000, 4096, phys: 0x2743000), new IdentityReplayModel());
        Assert.Equal(1, r.Fidelity.Compared);
        Assert.Equal(0, r.Fidelity.Matched);
        Assert.Equal(new FidelityMismatch(1, Dev, "dma_map_phys", "0xffffd000", "0x2743000"), Assert.Single(r.Fidelity.FirstMismatches));
    }

    [Fact]
    public void Constant_offset_is_inferred_as_dma_ranges()
    {
        var r = ReplayText(Map(0x8000_1000, 4096, phys: 0x1000) + Map(0x8000_5000, 4096, phys: 0x5000));
        var d = Assert.Single(r.Platform.Devices);
        Assert.Equal("dma-direct+offset", d.DmaOps);
        Assert.Equal(0x8000_0000L, d.DmaOffset);
    }

    [Fact]
    public void Phases_count_what_happened_between_markers()
    {
        var r = ReplayText(Line("tracing_mark_write", "PHASE a", 0.5) + Map(0x1000, 4096) + Map(0x2000, 4096, ts: 1.1) +
                           Line("tracing_mark_write", "PHASE b", 1.5) + Unmap(0x1000, 4096));
        Assert.Equal(2, r.Phases.Count);
        Assert.Equal(("PHASE a", 2L, 0L, 2L), (r.Phases[0].Name, r.Phases[0].Maps, r.Phases[0].Unmaps, r.Phases[0].LiveMappingsAtEnd));
        Assert.Equal(("PHASE b", 0L, 1L, 2L, 1L), (r.Phases[1].Name, r.Phases[1].Maps, r.Phases[1].Unmaps, r.Phases[1].LiveMappingsAtStart, r.Phases[1].LiveMappingsAtEnd));
        Assert.Equal(1_500_000_000UL, r.Phases[1].StartNs);
    }

    [Fact]
    public void Size_histogram_uses_power_of_two_buckets()
    {
        var r = ReplayText(Map(0x1000, 4096) + Map(0x3000, 4097) + Map(0x9000, 8192) + Map(0x20000, 1));
        var h = Assert.Single(r.Devices).SizeHistogram;
        Assert.Equal(new[] { new SizeBucket(1, 1), new SizeBucket(4096, 1), new SizeBucket(8192, 2) }, h);
    }
}

public class TraceReplayerSgCachelineTests
{
    [Fact]
    public void Every_sg_element_is_tracked_and_released()
    {
        const string dev = "0000:00:04.0";
        string sg(string phys, double ts) => TraceTestUtil.Line("dma_map_sg", $"{dev} dir=FROM_DEVICE nents=2/2 ents=2/2 dma_addrs={phys} sizes={{0x1000,0x1000}} phys_addrs={phys} attrs=", ts);
        string unsg(string phys, double ts) => TraceTestUtil.Line("dma_unmap_sg", $"{dev} dir=FROM_DEVICE phys_addrs={phys} attrs=", ts);
        // The second list's second element shares a cacheline with the first list's second element.
        var r = TraceTestUtil.ReplayText(sg("{0x1000,0x8000}", 1) + sg("{0x4000,0x8020}", 2) + unsg("{0x1000,0x8000}", 3) +
                                         unsg("{0x4000,0x8020}", 4) + sg("{0x1000,0x8000}", 5));
        var f = Assert.Single(r.Findings, x => x.Kind == "cacheline-overlap");
        Assert.Equal(2, f.Line);
        Assert.Equal(0x8020UL, f.Address);
    }
}

public class TraceReplayerBoundsTests
{
    [Fact]
    public void Processes_beyond_the_limit_are_counted_as_other()
    {
        var text = string.Concat(Enumerable.Range(0, 10).Select(i =>
            TraceTestUtil.Line("dma_map_phys", $"0000:00:04.0 dir=TO_DEVICE dma_addr={0x1000 * (i + 1):x} size=64 phys_addr={0x1000 * (i + 1):x} attrs=", 1 + i, "p", 100 + i)));
        using var reader = TraceTestUtil.ReaderOf(text);
        var report = TraceReplayer.Replay(reader, new ReplayOptions { MaxProcesses = 4 });
        Assert.Equal(5, report.Processes.Count);
        var other = report.Processes.Single(p => p.Name == "(other)");
        Assert.Equal(6, other.Maps);
        Assert.Equal(10, report.Processes.Sum(p => p.Maps));
    }

    [Fact]
    public void Live_series_stays_within_its_capacity_and_ends_with_the_final_state()
    {
        var s = new ReplayLiveSeries(capacity: 16, initialIntervalNs: 1);
        for (int i = 1; i <= 1000; i++) s.Record((ulong)i * 10, i, i * 4096L);
        var list = s.ToList();
        Assert.InRange(list.Count, 8, 17);
        Assert.Equal((10000UL, 1000L, 1000 * 4096L), (list[^1].TimeNs, list[^1].Mappings, list[^1].Bytes));
        Assert.True(list.Zip(list.Skip(1)).All(p => p.First.TimeNs < p.Second.TimeNs));
    }

    [Fact]
    public void Live_series_thinning_keeps_every_peak_and_trough()
    {
        var s = new ReplayLiveSeries(capacity: 16, initialIntervalNs: 1);
        // a flat 5 with one-sample spikes to 16 and dips to 0 that thinning would drop
        for (int i = 1; i <= 1000; i++) s.Record((ulong)i * 10, i % 97 == 0 ? 16 : i % 89 == 0 ? 0 : 5, 4096);
        var list = s.ToList();
        Assert.InRange(list.Count, 8, 17);
        Assert.Equal(16, list.Max(x => x.MaxMappings));
        Assert.Equal(0, list.Min(x => x.MinMappings));
        // each spike and dip shows in the first sample at or after it
        foreach (int i in Enumerable.Range(1, 1000).Where(i => i % 97 == 0 || (i % 89 == 0 && i % 97 != 0)))
        {
            var at = list.First(x => x.TimeNs >= (ulong)i * 10);
            Assert.True(i % 97 == 0 ? at.MaxMappings == 16 : at.MinMappings == 0, $"event {i}");
        }
        Assert.All(list, x => Assert.InRange(x.Mappings, x.MinMappings, x.MaxMappings));
    }
}
