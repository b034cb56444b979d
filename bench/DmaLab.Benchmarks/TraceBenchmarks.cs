using BenchmarkDotNet.Attributes;
using DmaLab.Trace;

namespace DmaLab.Benchmarks;

/// <summary>
/// Trace replay throughput on generated dma-direct traffic (SyntheticDmaTrace, 2 devices, up to 1024 live mappings
/// each). Results are per event (OperationsPerInvoke).
/// - Bookkeeping_5M: records made in memory and replayed (identity model, fidelity on): the dma-direct bookkeeping
///   rate, minus Generate_5M (the generator alone).
/// - ParseAndReplay_500k: tracefs text already in memory → FtraceReader → TraceReplayer.
/// - Parse_500k: the reader alone.
/// - StreamEndToEnd_5M: text generated on the fly → reader → replayer (5 M events never materialised).
/// </summary>
[MemoryDiagnoser]
public class TraceBenchmarks
{
    const int Big = 5_000_000;
    const int Text = 500_000;
    byte[] _text = [];

    [GlobalSetup]
    public void Setup()
    {
        var ms = new MemoryStream();
        new SyntheticDmaTrace(seed: 1, Text, devices: 2, maxLive: 1024).OpenText().CopyTo(ms);
        _text = ms.ToArray();
    }

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
    public long Bookkeeping_5M()
    {
        var gen = new SyntheticDmaTrace(seed: 1, Big, devices: 2, maxLive: 1024);
        var replayer = new TraceReplayer(new ReplayOptions { Model = new IdentityReplayModel() });
        var r = new TraceRecord();
        while (gen.Next(r)) replayer.Consume(r);
        return replayer.Finish().Maps;
    }

    [Benchmark(OperationsPerInvoke = Text)]
    public long Parse_500k()
    {
        using var reader = new FtraceReader(new MemoryStream(_text, writable: false), "bench");
        long n = 0;
        while (reader.Read()) n++;
        return n;
    }

    [Benchmark(OperationsPerInvoke = Text)]
    public long ParseAndReplay_500k()
    {
        using var reader = new FtraceReader(new MemoryStream(_text, writable: false), "bench");
        return TraceReplayer.Replay(reader, new ReplayOptions { Model = new IdentityReplayModel() }).Maps;
    }

    [Benchmark(OperationsPerInvoke = Big)]
    public long StreamEndToEnd_5M()
    {
        var gen = new SyntheticDmaTrace(seed: 1, Big, devices: 2, maxLive: 1024);
        using var reader = new FtraceReader(gen.OpenText(), "bench");
        return TraceReplayer.Replay(reader, new ReplayOptions { Model = new IdentityReplayModel() }).Maps;
    }
}
