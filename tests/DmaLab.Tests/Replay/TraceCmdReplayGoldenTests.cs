using DmaLab.Replay;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>
/// Golden replays of the trace-cmd forms of one ring buffer against their tracefs text twin, through the CLI's path
/// (<see cref="ReplayRunner"/>, the form found by content): the same event counts, devices, live mappings,
/// findings and fidelity. The figures are compared form with form, not with fixed numbers, so they hold while the
/// replay itself improves.
/// </summary>
public class TraceCmdReplayGoldenTests
{
    static ReplayReport Run(string file) => ReplayRunner.Run(File.OpenRead(TraceSamples.PathOf(file)), file);

    /// <summary>What the replay made of the trace, less what depends on how timestamps are printed or lines numbered.</summary>
    static string Summary(ReplayReport r, bool withContext)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append($"events={string.Join(',', r.Events.Select(kv => $"{kv.Key}:{kv.Value}"))}\n");
        sb.Append($"skipped={r.SkippedLines} replayed={r.ReplayedEvents} maps={r.Maps} live={r.LiveMappingsAtEnd} liveBytes={r.LiveBytesAtEnd} ")
          .Append($"liveAllocs={r.LiveAllocsAtEnd} unmatched={r.UnmatchedUnmaps} iommu={r.Platform.IommuKind}\n");
        foreach (var d in r.Devices)
            sb.Append($"{d.Name} maps={d.Maps} unmaps={d.Unmaps} bytes={d.BytesMapped} live={d.LiveMappingsAtEnd} liveBytes={d.LiveBytesAtEnd}\n");
        sb.Append($"compared={r.Fidelity.Compared} sg={r.Fidelity.ComparedSgEntries}\n");
        if (withContext)
        {
            // The IOMMU layer's own maps are found by context (task, CPU, interrupt level).
            sb.Append($"layer={r.Fidelity.ComparedLayerMaps} matched={r.Fidelity.Matched} sg={r.Fidelity.MatchedSgEntries} layer={r.Fidelity.MatchedLayerMaps}\n");
            sb.Append($"findings={string.Join(',', r.FindingCounts.Select(kv => $"{kv.Key}:{kv.Value}"))}\n");
        }
        return sb.ToString();
    }

    [Theory]
    [InlineData(".dat")]
    [InlineData(".v6.dat.xz")]
    [InlineData(".report.txt.xz")]
    public void Strict_forms_replay_like_the_text(string form)
    {
        var text = Run(TraceSamples.TraceCmdStrict + ".trace.xz");
        var other = Run(TraceSamples.TraceCmdStrict + form);
        Assert.Equal(Summary(text, true), Summary(other, true));
        Assert.True(other.Fidelity.Compared >= 990 && other.Fidelity.Matched == other.Fidelity.Compared,
            $"{other.Fidelity.Matched}/{other.Fidelity.Compared}");
    }

    [Fact]
    public void Lazy_smp2_dat_replays_like_the_text()
    {
        var text = Run(TraceSamples.TraceCmdLazySmp2 + ".trace.xz");
        var dat = Run(TraceSamples.TraceCmdLazySmp2 + ".dat");
        Assert.Equal(Summary(text, true), Summary(dat, true));
        // Lazy, 2 CPUs, no timer events: every address equal, on the model's own state too (no resync needed).
        Assert.Equal(3377, text.Fidelity.Compared);
        Assert.True(text.Fidelity.Matched == 3377, $"{text.Fidelity.Matched}/{text.Fidelity.Compared}: " + string.Join("\n", text.Fidelity.FirstMismatches));
        Assert.Equal(0, text.Fidelity.Resynced);
    }

    [Fact]
    public void Lazy_smp2_report_replays_the_same_events_and_mappings()
    {
        // `trace-cmd report` prints no irqs-off/hardirq/softirq column: an unmap traced inside a map call of the task
        // it names is taken as an interrupt (said in the input notes); the rest the replay cannot tell, so which calls
        // it reorders, hence findings, may differ. Every address still comes out as the kernel's.
        var text = Run(TraceSamples.TraceCmdLazySmp2 + ".trace.xz");
        var report = Run(TraceSamples.TraceCmdLazySmp2 + ".report.txt.xz");
        Assert.Equal(Summary(text, false), Summary(report, false));
        Assert.True(report.Fidelity.Matched == report.Fidelity.Compared, $"{report.Fidelity.Matched}/{report.Fidelity.Compared}");
        Assert.Contains(report.InputNotes, n => n.StartsWith("no irq-flags column", StringComparison.Ordinal));
    }

    [Fact]
    public void Lazy_smp2_report_dash_l_replays_like_the_text()
    {
        // trace-cmd report -l prints the irq-flags column: nothing is guessed, and the replay is the text's, order
        // decisions included.
        var text = Run(TraceSamples.TraceCmdLazySmp2 + ".trace.xz");
        var report = Run(TraceSamples.TraceCmdLazySmp2 + ".report-l.txt.xz");
        Assert.Equal(Summary(text, false), Summary(report, false));
        Assert.Equal(text.ReorderedCalls, report.ReorderedCalls);
        Assert.Equal(3377, report.Fidelity.Matched);
        Assert.DoesNotContain(report.InputNotes, n => n.StartsWith("no irq-flags column", StringComparison.Ordinal));
    }
}
