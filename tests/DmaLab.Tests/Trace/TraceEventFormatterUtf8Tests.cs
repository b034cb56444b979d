using System.Text;
using CsCheck;
using DmaLab.Dma;
using DmaLab.Sim;
using DmaLab.Trace;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Trace;

/// <summary>The direct UTF-8 line formatter writes exactly what <see cref="TraceEventFormatter.FormatLine"/> writes.</summary>
public class TraceEventFormatterUtf8Tests
{
    static readonly TraceEventKind[] Kinds = Enum.GetValues<TraceEventKind>().Where(k => k != TraceEventKind.Unknown).ToArray();

    [Fact]
    public void Random_records_format_to_the_same_bytes_as_FormatLine()
    {
        int formatted = 0;
        Gen.ULong.Sample(seed =>
        {
            var buf = new byte[64 * 1024]; // samples run in parallel: one buffer each
            var rng = new Rng(seed);
            var kind = Kinds[rng.Next(0, Kinds.Length)];
            string[] tasks = ["", "fio", "kworker/u4:1-events", "a-very-long-task-name-beyond-16", "tâche"];
            var r = TraceRecord.Create(kind, task: tasks[rng.Next(0, tasks.Length)], pid: rng.Next(0, 10_000_000),
                cpu: rng.Next(0, 2000), timestampNs: rng.Chance(0.1) ? rng.NextU64() : rng.NextU64() % 10_000_000_000_000UL,
                device: rng.Chance(0.5) ? "0000:00:04.0" : "périphérique");
            r.With((DmaDirection)rng.Next(0, 5), rng.NextU64(), rng.NextU64(), rng.NextU64() >> rng.Next(0, 64),
                   (DmaAttrs)(rng.NextU64() & (rng.Chance(0.5) ? 0 : ulong.MaxValue)));
            r.SetFlags(rng.Chance(0.5) ? "" : "d.h1.");
            r.SetMessage(rng.Chance(0.5) ? "PHASE x" : "marqueur €");
            var list = new ulong[rng.Next(0, 140)];
            for (int i = 0; i < list.Length; i++) list[i] = rng.NextU64() >> rng.Next(0, 64);
            r.SetPhysAddrs(list);
            r.SetDmaAddrs(list.AsSpan(0, list.Length / 2));
            r.SetLengths(list.AsSpan(0, list.Length / 2));
            if (rng.Chance(0.5)) r.SetSg(rng.Next(0, 300), rng.Next(0, 300), false);
            bool legacy = rng.Chance(0.5);
            if (!TraceEventFormatter.TryFormatLineUtf8(r, buf, out int n, legacy)) return;
            Interlocked.Increment(ref formatted);
            Assert.Equal(TraceEventFormatter.FormatLine(r, legacy), Encoding.UTF8.GetString(buf, 0, n));
        }, iter: 400);
        Assert.True(formatted > 50, $"only {formatted} records took the UTF-8 path");
    }

    [Fact]
    public void Synthetic_text_is_the_formatted_records()
    {
        const int events = 5000;
        var text = new StreamReader(new SyntheticDmaTrace(seed: 11, events, devices: 3, maxLive: 32).OpenText()).ReadToEnd();
        var expected = new StringBuilder(TraceEventFormatter.Header(events, 3));
        var gen = new SyntheticDmaTrace(seed: 11, events, devices: 3, maxLive: 32);
        var r = new TraceRecord();
        while (gen.Next(r)) expected.Append(TraceEventFormatter.FormatLine(r)).Append('\n');
        Assert.Equal(expected.ToString(), text);
    }
}
