using DmaLab.Trace;
using static DmaLab.Tests.Trace.TraceTestUtil;

namespace DmaLab.Tests.Trace;

/// <summary>timer:* lines (include/trace/events/timer.h): the flush queue's become records, the rest are counted.</summary>
public class FtraceTimerEventTests
{
    const string Text =
        "     rcu_preempt-18      [000] d..1.     6.268196: timer_start: timer=(____ptrval____) function=process_timeout expires=4294893741 [timeout=1] bucket_expiry=4294893742 cpu=0 idx=46 flags=\n" +
        "    kworker/u4:1-30      [000] d.h2.     6.535522: timer_start: timer=(____ptrval____) function=fq_flush_timeout expires=4294893809 [timeout=3] bucket_expiry=4294893810 cpu=1 idx=50 flags=\n" +
        "    kworker/u4:1-30      [000] d.s1.     6.554011: timer_cancel: timer=(____ptrval____)\n" +
        "    kworker/u4:1-30      [000] ..s..     6.554024: timer_expire_entry: timer=(____ptrval____) function=fq_flush_timeout now=4294893811 baseclk=4294893810\n" +
        "    kworker/u4:1-30      [000] ..s..     6.554533: timer_expire_exit: timer=(____ptrval____)\n";

    [Fact]
    public void Only_fq_flush_timeout_starts_and_expiries_become_records()
    {
        using var reader = ReaderOf(Text);
        var all = ReadAll(reader);
        Assert.Equal(2, all.Count);
        var start = all[0];
        Assert.Equal(TraceEventKind.TimerStart, start.Kind);
        Assert.Equal("fq_flush_timeout", start.TimerFunction);
        Assert.Equal(4294893806UL, start.TimerJiffies); // expires - timeout
        Assert.Equal(4294893810UL, start.TimerBucket);
        Assert.Equal(1, start.TimerCpu);
        var run = all[1];
        Assert.Equal(TraceEventKind.TimerExpireEntry, run.Kind);
        Assert.Equal(4294893811UL, run.TimerJiffies);
        Assert.Equal(4294893810UL, run.TimerBucket);
        Assert.Equal(5, reader.Stats.TimerLines);
        Assert.Equal(0, reader.Stats.UnknownEventLines);
        Assert.Equal(2, reader.Stats.CountOf("timer_start"));
    }

    [Fact]
    public void A_timer_line_without_its_fields_is_malformed_and_counted()
    {
        using var reader = ReaderOf("    kworker/u4:1-30      [000] d.h2.     6.535522: timer_start: timer=(____ptrval____) function=fq_flush_timeout cpu=0\n");
        Assert.Empty(ReadAll(reader));
        Assert.Equal(1, reader.Stats.MalformedLines);
        Assert.Contains("expires", reader.Stats.Malformed[0].Reason);
    }
}
