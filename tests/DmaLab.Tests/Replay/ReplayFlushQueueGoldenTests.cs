using DmaLab.Replay;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>
/// Golden replays of the captures with concurrent dd phases (strict and lazy, 1 and 2 CPUs, with and without the
/// flush queue's timer events) through the runner, as `dmalab replay` does.
/// </summary>
public class ReplayFlushQueueGoldenTests
{
    static ReplayReport Run(string name, bool resync = true)
    {
        using var input = File.OpenRead(TraceSamples.PathOf(name));
        return ReplayRunner.Run(input, name, new ReplayRunOptions { Resync = resync });
    }

    static void AllMatched(ReplayReport r, long compared)
    {
        var f = r.Fidelity;
        Assert.True(f.Matched == f.Compared, $"{f.Matched}/{f.Compared}: " + string.Join("\n", f.FirstMismatches));
        Assert.Equal(compared, f.Compared);
    }

    [Fact]
    public void Strict_concurrent_dd_phases_every_address()
    {
        var r = Run(TraceSamples.VtdStrict2);
        AllMatched(r, 3373);
        Assert.True(r.Fidelity.Determined > 3300);
    }

    [Fact]
    public void Lazy_with_the_timer_events_every_address_and_every_flush_where_it_was_traced()
    {
        var r = Run(TraceSamples.VtdLazyTimers2);
        AllMatched(r, 3381);
        Assert.Contains(r.ModelNotes!, n => n.Contains("timer_expire_entry"));
        Assert.Equal(0, r.UnknownEventLines);
        // Only the choices among interrupts are inferred: the flushes are traced.
        Assert.True(r.Fidelity.Inferred < 100, $"{r.Fidelity.Inferred} inferred");
    }

    [Fact]
    public void Lazy_without_timer_events_flush_instants_inferred_every_address()
    {
        var r = Run(TraceSamples.VtdLazy2);
        AllMatched(r, 3386);
        Assert.True(r.Fidelity.Inferred > 2500); // the reuses rest on inferred flush instants, and say so
    }

    [Fact]
    public void Lazy_two_cpus_without_timer_events_passes_80_percent_on_the_models_own_state_and_99_resynced()
    {
        // Not exact (docs in the issue note): which CPU's softirq ran an idle CPU's timer, and when, is not always
        // recoverable from the allocations. Pinned so a change that loses ground shows. On the model's own state alone
        // (no resync): the rival placements of inferred flushes and the cross-CPU allocation order took it from 1349 to
        // 2329, flushes placed where a queued range came back before the timer could have run to 2831, a late-learnt
        // flush releasing each CPU's ring in the kernel's order to 2856 (84.3 %). Going on from the kernel's range after
        // each mismatch leaves 2 wrong.
        var own = Run(TraceSamples.VtdLazySmp2, resync: false);
        Assert.Equal(3387, own.Fidelity.Compared);
        Assert.True(own.Fidelity.Matched >= 2856, $"{own.Fidelity.Matched}/{own.Fidelity.Compared}");
        Assert.Equal(0, own.Fidelity.Resynced);
        var r = Run(TraceSamples.VtdLazySmp2);
        Assert.True(r.Fidelity.Matched >= 3385, $"{r.Fidelity.Matched}/{r.Fidelity.Compared}");
        Assert.Equal(r.Fidelity.Mismatched, r.Fidelity.Resynced);
    }

    [Fact]
    public void Rivals_stay_bounded_when_the_header_claims_hundreds_of_cpus()
    {
        // The 2-CPU capture with a #P:512 header: each rival would copy 512 CPUs' magazines and rings, so none is kept
        // (the notes say so) and the replay stays as fast as without them.
        string text = string.Join("\n", SampleTraceText.Lines(Path.Combine("traces", TraceSamples.VtdLazySmp2))).Replace("#P:2", "#P:512");
        using var bytes = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
        var r = ReplayRunner.Run(bytes, "smp512.trace");
        Assert.Equal(3387, r.Fidelity.Compared);
        Assert.Contains(r.ModelNotes!, n => n.Contains("kept no rivals: a copy of the domain would pass 4 MiB"));
    }
}
