using BenchmarkDotNet.Attributes;
using DmaLab.Platform.Dtb;

namespace DmaLab.Benchmarks;

/// <summary>Parse + import of the 13 sample device trees (target: all 13 in under 50 ms after warm-up).</summary>
[MemoryDiagnoser]
public class DtbBenchmarks
{
    byte[][] _blobs = [];

    [GlobalSetup]
    public void Setup()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "tests", "data", "dtb")))
            dir = Path.GetDirectoryName(dir);
        if (dir is null) throw new InvalidOperationException("tests/data/dtb not found above " + AppContext.BaseDirectory);
        _blobs = Directory.GetFiles(Path.Combine(dir, "tests", "data", "dtb"), "*.dtb").Order(StringComparer.Ordinal)
            .Select(File.ReadAllBytes).ToArray();
    }

    [Benchmark(Description = "dtb-import-13-samples")]
    public int ImportAllSamples()
    {
        int n = 0;
        foreach (var b in _blobs)
            n += DtbImporter.Import(b).Platform.Devices.Count;
        return n;
    }

    [Benchmark(Description = "dtb-parse-13-samples")]
    public int ParseAllSamples()
    {
        int n = 0;
        foreach (var b in _blobs)
            n += FdtReader.Parse(b).NodeCount;
        return n;
    }
}
