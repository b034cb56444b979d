using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Trace;

/// <summary>
/// The read-ahead pipeline (worker threads, and the caller when it waits, parsing runs of lines into a ring) hands the
/// replay exactly the records, in the order, and the stats that the plain reader gives; reports are byte-identical; a
/// reader error surfaces at the same record; stopping early does not hang.
/// </summary>
public class FtraceReadAheadTests
{
    static (List<string> Records, string? Error) ReadAll(Func<FtraceReader> open, bool aheadThreaded, int workers = 1)
    {
        var records = new List<string>();
        string? error = null;
        try
        {
            using var reader = open();
            using var ahead = FtraceReadAhead.Open(reader, aheadThreaded, workers);
            Assert.Equal(aheadThreaded, ahead.Threaded);
            while (ahead.Read()) records.Add(FtraceFastPathTests.Describe(ahead.Current));
            records.Add(FtraceFastPathTests.DescribeStats(reader));
        }
        catch (TraceFormatException ex) { error = ex.Message; }
        return (records, error);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void A_synthetic_trace_many_rings_long_reads_the_same_record_for_record(int workers)
    {
        // About 430 events per 64 KiB run: dozens of runs, several times round the ring.
        const int events = 30_017;
        Func<FtraceReader> open = () => new FtraceReader(new SyntheticDmaTrace(seed: 7, events, devices: 3, maxLive: 64).OpenText(), "synthetic");
        var plain = ReadAll(open, aheadThreaded: false);
        var ahead = ReadAll(open, aheadThreaded: true, workers);
        Assert.Null(plain.Error);
        Assert.Equal(events + 1, plain.Records.Count);
        Assert.Equal(plain.Records, ahead.Records);
    }

    [Fact]
    public void A_corrupt_xz_fails_at_the_same_record_with_the_same_message()
    {
        var corrupt = File.ReadAllBytes(TraceSamples.PathOf(TraceSamples.VtdStrict));
        for (int i = 6000; i < 6400; i++) corrupt[i] ^= 0x5A;
        Func<FtraceReader> open = () => new FtraceReader(new MemoryStream(corrupt), "bad.trace.xz");
        var plain = ReadAll(open, aheadThreaded: false);
        var ahead = ReadAll(open, aheadThreaded: true);
        Assert.NotNull(plain.Error);
        Assert.True(plain.Records.Count > 0);
        Assert.Equal(plain.Error, ahead.Error);
        Assert.Equal(plain.Records, ahead.Records);
    }

    [Fact]
    public void Not_ftrace_text_is_the_same_error_through_the_read_ahead()
    {
        var text = string.Join("\n", Enumerable.Range(0, 80).Select(i => $"{{ \"row\": {i} }}")) + "\n";
        Func<FtraceReader> open = () => TraceTestUtil.ReaderOf(text, "report.json");
        var plain = ReadAll(open, aheadThreaded: false);
        var ahead = ReadAll(open, aheadThreaded: true);
        Assert.StartsWith("report.json: line 1: not ftrace text", plain.Error);
        Assert.Equal(plain.Error, ahead.Error);
    }

    [Fact]
    public async Task Stopping_early_returns_without_waiting_for_the_rest()
    {
        var run = Task.Run(() =>
        {
            using var reader = new FtraceReader(new SyntheticDmaTrace(seed: 3, 5_000_000).OpenText(), "synthetic");
            using var ahead = FtraceReadAhead.Open(reader, threaded: true);
            for (int i = 0; i < 10; i++) Assert.True(ahead.Read());
            return reader.Stats.EventLines;
        });
        long parsed = await run.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.True(parsed < 100_000, $"parsed {parsed} events before stopping");
    }

    [Theory]
    [InlineData(TraceSamples.H100)]
    [InlineData(TraceSamples.VtdStrict)]
    [InlineData(TraceSamples.VtdSwiotlb)]
    [InlineData(TraceSamples.Smmuv3Strict)]
    public void Replay_reports_are_byte_identical_with_and_without_read_ahead(string sample)
    {
        string Run(bool readAhead)
        {
            using var input = File.OpenRead(TraceSamples.PathOf(sample));
            var report = ReplayRunner.Run(input, sample, new ReplayRunOptions { ReadAhead = readAhead });
            return ReplayReportJson.Serialize(report);
        }
        Assert.Equal(Run(readAhead: false), Run(readAhead: true));
    }

    [Fact]
    public void Bookkeeping_replay_of_a_synthetic_trace_is_the_same_with_and_without_read_ahead()
    {
        string Run(bool readAhead)
        {
            using var reader = new FtraceReader(new SyntheticDmaTrace(seed: 5, 20_000, devices: 2, maxLive: 256).OpenText(), "synthetic",
                new FtraceReaderOptions { ReadAhead = readAhead });
            return ReplayReportJson.Serialize(TraceReplayer.Replay(reader, new ReplayOptions { Model = new IdentityReplayModel() }));
        }
        Assert.Equal(Run(readAhead: false), Run(readAhead: true));
    }
}
