using System.Globalization;
using System.Text;
using DmaLab.Replay;
using static DmaLab.Tests.Trace.TraceTestUtil;

namespace DmaLab.Tests.Replay;

/// <summary>
/// The kernel's order of work inside a DMA-API call and the flush queue's timing, each isolated by a short hand-written
/// trace replayed through <see cref="MachineReplayModel"/> (VT-d inferred, one DMA domain per device, IOVAs top-down
/// from 0xfffff000). Each trace is one the kernel can produce only under the rule: replayed without it, an address
/// comes out wrong.
/// </summary>
public class ReplayOrderRuleTests
{
    const string Dev = "0000:00:04.0";

    /// <summary>Builds a tracefs text; timestamps in microseconds.</summary>
    sealed class T
    {
        readonly StringBuilder _sb = new();
        readonly int _cpus;
        readonly bool _flagless;
        string _dev = Dev;
        /// <param name="flagless">Lines without the irq-flags column, as trace-cmd report prints them without -l.</param>
        public T(int cpus = 1, bool flagless = false) { _cpus = cpus; _flagless = flagless; }

        /// <summary>Evidence of strict domains on another device (its own domain): twice a freed IOVA reused at once.</summary>
        public T StrictElsewhere()
        {
            _dev = "0000:00:05.0";
            Map(0, A, 0x90_0000).Unmap(3, A).Map(6, A, 0x90_1000).Unmap(9, A).Map(12, A, 0x90_2000).Unmap(15, A);
            _dev = Dev;
            return this;
        }

        public T Line(double us, string flags, string evt, string fields, int pid = 7, int cpu = 0)
        {
            string ts = (us / 1e6).ToString("F6", CultureInfo.InvariantCulture);
            _sb.Append(_flagless ? $"            task-{pid,-7} [{cpu:000}] {ts,12}: {evt}: {fields}\n"
                                 : $"            task-{pid,-7} [{cpu:000}] {flags} {ts,12}: {evt}: {fields}\n");
            return this;
        }

        public T MapLine(double us, ulong iova, ulong phys, string flags = ".....", int pid = 7, int cpu = 0, ulong pages = 1) =>
            Line(us, flags, "map", $"IOMMU: iova=0x{iova:x16} - 0x{iova + pages * 0x1000:x16} paddr=0x{phys:x16} size={pages * 0x1000}", pid, cpu);

        public T MapCall(double us, ulong iova, ulong phys, string flags = ".....", int pid = 7, int cpu = 0) =>
            Line(us, flags, "dma_map_page", $"{_dev} dir=FROM_DEVICE dma_addr={iova:x} size=4096 phys_addr={phys:x} attrs=", pid, cpu);

        public T Map(double us, ulong iova, ulong phys, string flags = ".....", int pid = 7, int cpu = 0) =>
            MapLine(us, iova, phys, flags, pid, cpu).MapCall(us + 1, iova, phys, flags, pid, cpu);

        public T UnmapLine(double us, ulong iova, string flags = "d.h..", int pid = 7, int cpu = 0) =>
            Line(us, flags, "unmap", $"IOMMU: iova=0x{iova:x16} - 0x{iova + 0x1000:x16} size=4096 unmapped_size=4096", pid, cpu);

        public T UnmapCall(double us, ulong iova, string flags = "d.h..", int pid = 7, int cpu = 0) =>
            Line(us, flags, "dma_unmap_page", $"{_dev} dir=FROM_DEVICE dma_addr={iova:x} size=4096 attrs=", pid, cpu);

        public T Unmap(double us, ulong iova, string flags = "d.h..", int pid = 7, int cpu = 0) =>
            UnmapLine(us, iova, flags, pid, cpu).UnmapCall(us + 1, iova, flags, pid, cpu);

        /// <summary>dma_map_sg of two pages at <paramref name="p0"/> and <paramref name="p1"/> into one 8 KiB IOVA run:
        /// the iommu:map of each page, then the call.</summary>
        public T MapSg(double us, ulong iova, ulong p0, ulong p1, string flags = ".....", int pid = 7, int cpu = 0) =>
            MapLine(us, iova, p0, flags, pid, cpu).MapLine(us + 1, iova + 0x1000, p1, flags, pid, cpu)
                .Line(us + 2, flags, "dma_map_sg", $"{_dev} dir=FROM_DEVICE nents=2/2 ents=1/1 dma_addrs={{0x{iova:x}}} sizes={{0x2000}} phys_addrs={{0x{p0:x},0x{p1:x}}} attrs=", pid, cpu);

        /// <summary>dma_unmap_sg of that list (traced before the unmap, by phys only), then the iommu:unmap.</summary>
        public T UnmapSg(double us, ulong iova, ulong p0, ulong p1, string flags = "d.h..", int pid = 7, int cpu = 0) =>
            Line(us, flags, "dma_unmap_sg", $"{_dev} dir=FROM_DEVICE phys_addrs={{0x{p0:x},0x{p1:x}}} attrs=", pid, cpu)
                .Line(us + 1, flags, "unmap", $"IOMMU: iova=0x{iova:x16} - 0x{iova + 0x2000:x16} size=8192 unmapped_size=8192", pid, cpu);

        public T TimerStart(double us, ulong jiffies, string flags = "d.h2.", int pid = 7, int cpu = 0) =>
            Line(us, flags, "timer_start", $"timer=(____ptrval____) function=fq_flush_timeout expires={jiffies + 3} [timeout=3] bucket_expiry={jiffies + 4} cpu={cpu} idx=0 flags=", pid, cpu);

        public T TimerExpire(double us, ulong jiffies, string flags = "..s..", int pid = 0, int cpu = 0) =>
            Line(us, flags, "timer_expire_entry", $"timer=(____ptrval____) function=fq_flush_timeout now={jiffies} baseclk={jiffies}", pid, cpu);

        public ReplayReport Replay(long explainLine = 0, bool resync = true)
        {
            string text = $"# tracer: nop\n#\n# entries-in-buffer/entries-written: 1/1   #P:{_cpus}\n#\n" + _sb;
            var model = new MachineReplayModel(new MachineReplayOptions { Cpus = _cpus, Resync = resync });
            using var reader = ReaderOf(text);
            return TraceReplayer.Replay(reader, new ReplayOptions { Model = model, Input = "rule.trace", ExplainLine = explainLine });
        }
    }

    const ulong A = 0xffff_f000, B = 0xffff_e000, C = 0xffff_d000, D = 0xffff_c000;

    static void AllMatched(ReplayReport r, int compared)
    {
        Assert.True(r.Fidelity.Matched == r.Fidelity.Compared,
            $"{r.Fidelity.Matched}/{r.Fidelity.Compared}: " + string.Join("; ", r.Fidelity.FirstMismatches));
        Assert.Equal(compared, r.Fidelity.Compared);
    }

    [Fact]
    public void An_interrupt_after_the_first_map_line_ran_after_the_allocation()
    {
        // Strict: B's IOVA was taken before the hardirq freed A (else B would have got A back from the rcache).
        var t = new T().StrictElsewhere().Map(0, A, 0x1000, ".....")
            .MapLine(100, B, 0x2000)
            .Unmap(110, A)
            .MapCall(120, B, 0x2000)
            .Map(200, A, 0x3000);
        var r = t.Replay();
        AllMatched(r, 3 + 3);
        Assert.Equal(1, r.ReorderedCalls);
        Assert.Equal(0, r.Fidelity.Inferred);
    }

    [Fact]
    public void An_interrupt_before_the_first_map_line_ran_before_the_allocation()
    {
        // The hardirq freed A; the task's next mapping, traced after it, reuses A: the allocation came after.
        var t = new T().StrictElsewhere().Map(0, A, 0x1000)
            .Unmap(100, A)
            .Map(200, A, 0x2000);
        AllMatched(t.Replay(), 2 + 3);
    }

    [Fact]
    public void A_pre_map_interrupt_the_address_says_came_after_the_allocation_is_inferred()
    {
        // The hardirq is traced before B's first map line, yet B got a fresh IOVA while A, just freed, sat on top of
        // the rcache: only "allocation, then interrupt" explains it. The replay asks the model and says it inferred.
        var t = new T().StrictElsewhere().Map(0, A, 0x1000)
            .Unmap(100, A)
            .Map(130, B, 0x2000)
            .Map(200, A, 0x3000);
        var r = t.Replay(explainLine: 22); // B's dma_map_page, after the 4 header lines and the 12 of the evidence
        AllMatched(r, 3 + 3);
        Assert.Equal(1, r.FloatedCalls);
        Assert.NotNull(r.Explain);
        Assert.Contains(r.Explain!, s => s.Contains("replayed ahead of interrupt line 20"));
        Assert.Contains(r.Explain!, s => s.Contains("inferred"));
        Assert.Contains(r.Explain!, s => s.Contains("IOVA 0xffffe000 from the tree"));
        Assert.Equal(1, r.Fidelity.Inferred);
        Assert.Equal(2 + 3, r.Fidelity.Determined);
    }

    [Fact]
    public void Two_interrupts_straddle_the_first_map_line()
    {
        // A and B live; hardirq 1 (before C's first map line) frees A, C reuses it; hardirq 2 (after it) frees B,
        // which the next mapping gets.
        var t = new T().StrictElsewhere().Map(0, A, 0x1000).Map(10, B, 0x2000)
            .Unmap(100, A)
            .MapLine(200, A, 0x3000)
            .Unmap(210, B)
            .MapCall(220, A, 0x3000)
            .Map(300, B, 0x4000);
        var r = t.Replay();
        AllMatched(r, 4 + 3);
        Assert.Equal(1, r.ReorderedCalls);
    }

    [Fact]
    public void A_strict_free_waits_for_the_iotlb_sync_so_an_interrupt_between_unmap_and_dma_unmap_page_frees_first()
    {
        // softirq unmaps A (line), a nested hardirq unmaps B whole, then A's dma_unmap_page: A's free came after the
        // hardirq's (its IOTLB sync ran in between), so A is on top and the next mapping gets it.
        var t = new T().StrictElsewhere().Map(0, A, 0x1000).Map(10, B, 0x2000)
            .UnmapLine(100, A, "..s1.")
            .Unmap(110, B, "d.H2.")
            .UnmapCall(130, A, "..s1.")
            .Map(200, A, 0x3000)
            .Map(210, B, 0x4000);
        AllMatched(t.Replay(), 4 + 3);
    }

    [Fact]
    public void A_lazy_free_is_queued_at_its_unmap_line_and_the_traced_timer_releases_the_queue_oldest_first()
    {
        // Lazy (A's unmapped IOVA is not reused by the next mapping, C). softirq unmaps B (line) and queues it;
        // a hardirq unmaps D; B's dma_unmap_page comes last. The traced fq_flush_timeout releases B then D (queue
        // order), so D is on top, then B.
        var t = new T().Map(0, A, 0x1000).Map(10, B, 0x2000)
            .Unmap(100, A).TimerStart(102, 1000)
            .Map(200, C, 0x3000).Map(210, D, 0x5000)
            .UnmapLine(300, B, "..s1.")
            .Unmap(310, D, "d.H2.")
            .UnmapCall(330, B, "..s1.")
            .Map(1000, 0xffff_b000, 0x6000)         // before the timer ran: nothing released yet
            .TimerExpire(16_500, 1004)
            .Map(16_600, D, 0x7000).Map(16_700, B, 0x8000).Map(16_800, A, 0x9000);
        var r = t.Replay();
        AllMatched(r, 8);
        Assert.Equal(0, r.Fidelity.Inferred);
    }

    [Fact]
    public void Without_timer_events_the_flush_is_placed_where_the_allocations_say_at_the_J_plus_4_tick_or_later()
    {
        // Armed at 100 us; the wheel cannot run it before 12 ms (jiffies + 3, bucket J+4 at HZ=250). At 13 ms the
        // mapping still gets a fresh IOVA, at 17 ms A is back: the flush ran in between.
        var t = new T().Map(0, A, 0x1000)
            .Unmap(100, A)
            .Map(200, B, 0x2000)
            .Map(13_000, C, 0x3000)
            .Map(17_000, A, 0x4000);
        var r = t.Replay();
        AllMatched(r, 4);
        Assert.Equal(1, r.Fidelity.Inferred); // the reuse rests on the inferred flush instant
    }

    [Fact]
    public void A_queued_range_reused_before_the_timer_could_run_says_a_flush_ran_anyway()
    {
        // A, B and C are queued by 500 us, the timer armed with A; the wheel cannot run it before 12 ms, yet at 6 ms
        // the mapping gets C back. Only a finished flush releases a queued range, so one ran after C was queued: A, B
        // and C go back to the cache, C on top, and B comes next.
        var t = new T().Map(0, A, 0x1000).Unmap(100, A)
            .Map(200, B, 0x2000).Unmap(300, B)
            .Map(400, C, 0x3000).Unmap(500, C)
            .Map(600, D, 0x4000)
            .Map(6_000, C, 0x5000)
            .Map(6_500, B, 0x6000);
        var r = t.Replay(explainLine: 20);
        AllMatched(r, 6);
        Assert.Contains(r.Explain!, l => l.Contains("earlier than the timer allows", StringComparison.Ordinal));
    }

    [Fact]
    public void A_wrong_guess_costs_one_address_because_the_replay_goes_on_from_the_kernels_range()
    {
        // Strict. A then B are freed at task level (no interrupt to reorder), so the allocator hands out B first; this
        // kernel handed out A (as if the frees had run the other way round). The model's B is counted wrong; it then takes A from under B in the range cache and
        // gets the next one, B, right. Without resync it keeps its own state and gets that one wrong too.
        var t = new T().StrictElsewhere()
            .Map(100, A, 0x1000).Map(110, B, 0x2000).Map(120, C, 0x3000)
            .Unmap(200, A, flags: ".....").Unmap(210, B, flags: ".....")
            .Map(300, A, 0x4000)
            .Map(310, B, 0x5000)
            .Map(320, D, 0x6000);
        var r = t.Replay(explainLine: 28);
        Assert.Equal(9, r.Fidelity.Compared);
        Assert.Equal(8, r.Fidelity.Matched);
        Assert.Equal(1, r.Fidelity.Resynced);
        Assert.Equal(28, r.Fidelity.FirstMismatches.Single().Line);
        Assert.Contains(r.Explain!, l => l.Contains("the model took it", StringComparison.Ordinal));
        var own = t.Replay(resync: false);
        Assert.Equal(7, own.Fidelity.Matched);
        Assert.Equal(0, own.Fidelity.Resynced);
    }

    [Fact]
    public void An_unmap_sg_closes_the_list_mapped_before_it_not_one_the_replay_ran_ahead_of_it()
    {
        // Strict. The driver maps the same two pages twice. The interrupt that unmaps the first list (A) is traced before
        // the second call's first map line; the second call got a fresh range (C), so its allocation ran before that
        // interrupt and the replay runs it first. dma_unmap_sg names only the pages, which both live lists share: it
        // must close A (the list mapped before it), which the third call then gets back.
        const ulong A2 = 0xffff_e000, C2 = 0xffff_c000;
        var t = new T().StrictElsewhere()
            .MapSg(0, A2, 0x10_0000, 0x20_0000)
            .UnmapSg(100, A2, 0x10_0000, 0x20_0000)
            .MapSg(110, C2, 0x10_0000, 0x20_0000)
            .MapSg(200, A2, 0x30_0000, 0x40_0000);
        var r = t.Replay(resync: false);
        AllMatched(r, 6);
        Assert.Equal(0, r.UnmatchedUnmaps);
    }

    [Fact]
    public void Without_the_flags_column_an_unmap_inside_a_call_is_taken_as_an_interrupt_after_the_allocation()
    {
        // Strict, no irq-flags column. B is unmapped (with the task's pid: an interrupt shows the task it hit) after the
        // call's first map line, so inside the call: an interrupt that ran after the allocation, which got a fresh
        // range, not B. Taken as the task's own record it would come first, and the allocation would get B back.
        var t = new T(flagless: true).StrictElsewhere()
            .Map(100, A, 0x1000).Map(110, B, 0x2000)
            .MapLine(200, C, 0x3000)
            .Unmap(205, B)
            .MapCall(210, C, 0x3000)
            .Map(300, B, 0x4000);
        var r = t.Replay(resync: false);
        AllMatched(r, 7);
        Assert.Equal(1, r.ReorderedCalls);
    }

    [Fact]
    public void The_timer_frees_every_cpus_ring_cpu0_first_into_the_rcache_of_the_cpu_that_runs_it()
    {
        // CPU 0 queues A, CPU 1 queues B; the timer runs on CPU 1: A then B land in CPU 1's cache (B on top); CPU 0
        // sees none of them.
        var t = new T(cpus: 2).Map(0, A, 0x1000, cpu: 0).Map(10, B, 0x2000, pid: 8, cpu: 1)
            .Unmap(100, A, cpu: 0).TimerStart(102, 1000, cpu: 0)
            .Map(200, C, 0x3000, cpu: 0)
            .Unmap(300, B, pid: 8, cpu: 1)
            .TimerExpire(16_500, 1004, cpu: 1)
            .Map(16_600, B, 0x4000, pid: 8, cpu: 1)
            .Map(16_700, A, 0x5000, pid: 8, cpu: 1)
            .Map(16_800, D, 0x6000, cpu: 0);
        AllMatched(t.Replay(), 6);
    }

    [Fact]
    public void Concurrent_calls_on_two_cpus_allocate_in_the_order_their_addresses_show()
    {
        // Both CPUs map at once and both allocations come from the tree (top-down). CPU 1's lines come later, but it
        // got the higher range: its allocation ran first (before its first map line, inside CPU 0's call), so the
        // model replays it ahead of CPU 0's.
        var t = new T(cpus: 2)
            .Map(0, A, 0x1000, cpu: 0)
            .Map(100, C, 0x2000, cpu: 0)
            .Map(150, B, 0x3000, pid: 8, cpu: 1);
        var r = t.Replay(explainLine: 10);
        AllMatched(r, 3);
        Assert.Equal(1, r.Fidelity.Inferred);
        Assert.Contains(r.Explain!, l => l.Contains("allocated concurrently", StringComparison.Ordinal));
    }

    [Fact]
    public void A_late_flush_the_trace_cannot_place_is_kept_as_rivals_until_the_allocations_decide()
    {
        // Two CPUs, no timer events. CPU 0 queues A (arming the timer) and, 30 ms later with the timer still not run
        // (an idle CPU's timer runs late), B; CPU 1 queues C. The timer ran on CPU 0 after B and before C: A and B went
        // to CPU 0's cache and C re-armed the timer on CPU 1. Nothing tells that until 48 ms: the flush is overdue at
        // 41 ms and placed at the earliest instant its bracket allows (A only), leaving B waiting; at 46 ms CPU 1's
        // flush shows (E comes back), and as placed it frees B into CPU 1's cache under C and E. At 48 ms CPU 1 gets a
        // fresh range, which only the rival "ran after B, on CPU 0" gives, and CPU 0 then gets B back.
        const ulong E = 0xffff_b000 + 0x1000, F = 0xffff_b000;
        var t = new T(cpus: 2)
            .Map(0, A, 0x1000, cpu: 0).Unmap(100, A, cpu: 0)
            .Map(30_000, B, 0x2000, cpu: 0).Unmap(30_100, B, cpu: 0)
            .Map(31_000, C, 0x3000, pid: 8, cpu: 1).Unmap(31_100, C, pid: 8, cpu: 1)
            .Map(40_500, E, 0x4000, pid: 8, cpu: 1).Unmap(41_000, E, pid: 8, cpu: 1)
            .Map(46_000, E, 0x5000, pid: 8, cpu: 1)
            .Map(47_000, C, 0x6000, pid: 8, cpu: 1)
            .Map(48_000, F, 0x7000, pid: 8, cpu: 1)
            .Map(49_000, B, 0x8000, cpu: 0);
        var r = t.Replay(explainLine: 26);
        AllMatched(r, 8);
        Assert.True(r.Explain!.Any(l => l.Contains("took a rival's: the flush ran at 0.030101 s on CPU 0", StringComparison.Ordinal)), string.Join("\n", r.Explain!));
    }

    [Fact]
    public void A_flush_overdue_on_the_cpu_that_armed_it_may_have_run_on_time_on_the_other()
    {
        // CPU 0 queues A and arms the timer; it runs on time, on CPU 1 (CPU 0 idle): A goes to CPU 1's cache. CPU 0's
        // fresh ranges at 20 and 30 ms say only that it did not run on CPU 0. B re-armed it on CPU 0, where it ran at
        // about 34 ms with B and C. At 35 ms CPU 0 gets C back, so a flush on CPU 0 is placed, taking A along; only at
        // 37 ms (a fresh range where A would be) does the rival "ran on time on CPU 1" win, and CPU 1 then gets A.
        const ulong Fresh = 0xffff_c000;
        var t = new T(cpus: 2)
            .Map(0, A, 0x1000, cpu: 0).Unmap(100, A, cpu: 0)
            .Map(20_000, B, 0x2000, cpu: 0).Unmap(20_100, B, cpu: 0)
            .Map(30_000, C, 0x3000, cpu: 0).Unmap(30_100, C, cpu: 0)
            .Map(35_000, C, 0x4000, cpu: 0)
            .Map(36_000, B, 0x5000, cpu: 0)
            .Map(37_000, Fresh, 0x6000, cpu: 0)
            .Map(38_000, A, 0x7000, pid: 8, cpu: 1);
        var r = t.Replay(explainLine: 22);
        AllMatched(r, 7);
        Assert.True(r.Explain!.Any(l => l.Contains("took a rival's: the flush ran at 0.012101 s on CPU 1", StringComparison.Ordinal)), string.Join("\n", r.Explain!));
    }

    [Fact]
    public void A_full_ring_flushes_and_frees_only_its_own_cpus_ring()
    {
        // 257 pages unmapped in a row (within a millisecond, no timer can run): the 256th queue_iova finds the ring
        // full (IOVA_DEFAULT_FQ_SIZE 256 holds 255: pages 0..254), flushes, frees those 255 into CPU 0's cache and
        // queues itself (page 255); the next mapping gets page 254, the last freed, not 255 or 256, still queued.
        var t = new T();
        ulong Page(int i) => 0xffff_f000UL - (ulong)i * 0x1000;
        double us = 0;
        // A lazy vote first: an unmapped page not reused by the next mapping.
        t.Map(us, Page(0), 0x10_0000); t.Unmap(us += 5, Page(0)); t.Map(us += 5, Page(1), 0x10_1000);
        for (int i = 2; i < 257; i++) t.Map(us += 2, Page(i), 0x10_0000 + (ulong)i * 0x1000);
        Assert.True(us < 11_000);
        for (int i = 1; i < 257; i++) t.Unmap(us += 2, Page(i));
        t.Map(us += 2, Page(254), 0x20_0000);
        var r = t.Replay();
        AllMatched(r, 258);
    }
}
