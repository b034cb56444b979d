using BenchmarkDotNet.Attributes;
using DmaLab.Trace;
using DmaLab.Replay;

namespace DmaLab.Benchmarks;

/// <summary>
/// Trace replay throughput on generated dma-direct traffic (SyntheticDmaTrace: seed 1, 5 M events, 2 devices, up to
/// 1024 live mappings each; about 150 bytes of text per event). Results are per event (OperationsPerInvoke).
/// - Generate_5M / GenerateText_5M: the generator alone, as records / as tracefs text (to subtract).
/// - Bookkeeping_5M: records made in memory and replayed (identity model, fidelity on).
/// - Parse_5M: the reader alone over the text in a file (written once in the setup, read from the page cache).
/// - ParseAndReplay_5M: that file → FtraceReader → TraceReplayer (identity model), on one thread;
///   ParseAndReplayReadAhead_5M: the same with runs of lines parsed ahead on worker threads (FtraceReadAhead, the default).
/// - StreamEndToEnd_5M: text generated on the fly → reader → replayer (5 M events never materialised).
/// - ReplayRunner_5M: what `dmalab replay FILE` runs: the file through ReplayRunner with the MachineReplayModel
///   (platform inferred, lookahead window, fidelity against every dma_addr), read-ahead on (its default);
///   ReplayRunnerOneThread_5M: the same on one thread.
/// </summary>
[MemoryDiagnoser]
public class TraceBenchmarks
{
    const int Big = 5_000_000;
    string _file = "";

    [GlobalSetup(Targets = [nameof(Parse_5M), nameof(ParseAndReplay_5M), nameof(ParseAndReplayReadAhead_5M), nameof(ReplayRunner_5M), nameof(ReplayRunnerOneThread_5M)])]
    public void WriteFile()
    {
        _file = Path.Combine(Path.GetTempPath(), $"dmalab-bench-synthetic-5M-{Environment.ProcessId}.trace");
        using var f = new FileStream(_file, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20);
        new SyntheticDmaTrace(seed: 1, Big, devices: 2, maxLive: 1024).OpenText().CopyTo(f, 1 << 20);
    }

    [GlobalCleanup(Targets = [nameof(Parse_5M), nameof(ParseAndReplay_5M), nameof(ParseAndReplayReadAhead_5M), nameof(ReplayRunner_5M), nameof(ReplayRunnerOneThread_5M)])]
    public void DeleteFile()
    {
        if (_file.Length > 0) File.Delete(_file);
    }

    FileStream Open() => new(_file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);

    [Benchmark(OperationsPerInvoke = Big)]
    public long Generate_5M()
    {
        var gen = new SyntheticDmaTrace(seed: 1, Big, devices: 2, maxLive: 1024);
        var r = new TraceRecord();
        long n = 0;
        while (gen.Next(r)) n++;
        return n;
    }

    [Benchmark(OperationsPerInvoke = Big)]
    public long GenerateText_5M()
    {
        using var text = new SyntheticDmaTrace(seed: 1, Big, devices: 2, maxLive: 1024).OpenText();
        var buf = new byte[1 << 16];
        long n = 0;
        int k;
        while ((k = text.Read(buf, 0, buf.Length)) > 0) n += k;
        return n;
    }

    [Benchmark(OperationsPerInvoke = Big)]
    public long Bookkeeping_5M()
    {
        var gen = new SyntheticDmaTrace(seed: 1, Big, devices: 2, maxLive: 1024);
        var replayer = new TraceReplayer(new ReplayOptions { Model = new IdentityReplayModel() });
        var r = new TraceRecord();
        while (gen.Next(r)) replayer.Consume(r);
        return replayer.Finish().Maps;
    }

    [Benchmark(OperationsPerInvoke = Big)]
    public long Parse_5M()
    {
        using var reader = new FtraceReader(Open(), "bench");
        long n = 0;
        while (reader.Read()) n++;
        return n;
    }

    [Benchmark(OperationsPerInvoke = Big)]
    public long ParseAndReplay_5M()
    {
        using var reader = new FtraceReader(Open(), "bench", new FtraceReaderOptions { ReadAhead = false });
        return TraceReplayer.Replay(reader, new ReplayOptions { Model = new IdentityReplayModel() }).Maps;
    }

    [Benchmark(OperationsPerInvoke = Big)]
    public long ParseAndReplayReadAhead_5M()
    {
        using var reader = new FtraceReader(Open(), "bench", new FtraceReaderOptions { ReadAhead = true });
        return TraceReplayer.Replay(reader, new ReplayOptions { Model = new IdentityReplayModel() }).Maps;
    }

    [Benchmark(OperationsPerInvoke = Big)]
    public long StreamEndToEnd_5M()
    {
        var gen = new SyntheticDmaTrace(seed: 1, Big, devices: 2, maxLive: 1024);
        using var reader = new FtraceReader(gen.OpenText(), "bench");
        return TraceReplayer.Replay(reader, new ReplayOptions { Model = new IdentityReplayModel() }).Maps;
    }

    [Benchmark(OperationsPerInvoke = Big)]
    public long ReplayRunner_5M() => ReplayRunner.Run(Open(), "bench").Maps;

    [Benchmark(OperationsPerInvoke = Big)]
    public long ReplayRunnerOneThread_5M() => ReplayRunner.Run(Open(), "bench", new ReplayRunOptions { ReadAhead = false }).Maps;
}
