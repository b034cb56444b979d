using DmaLab.Trace;

namespace DmaLab.Cli;

/// <summary>What `dmalab replay` was asked to do.</summary>
public sealed record ReplayRequest(string Input, string? Platform, string? Policy, string? Iommu, ulong Seed);

/// <summary>Opens the trace (file or stdin) and runs the replay through the library.</summary>
public static class ReplayDriver
{
    public static ReplayReport Run(ReplayRequest request, Stream? timeline, Action<TraceProgress>? progress)
    {
        if (request.Input != "-" && !File.Exists(request.Input)) throw new UsageException($"{request.Input}: no such trace file");
        Stream input = request.Input == "-" ? Console.OpenStandardInput() : File.OpenRead(request.Input);
        string name = request.Input == "-" ? "<stdin>" : request.Input;
        var readerOptions = new FtraceReaderOptions { Progress = progress };
        using var reader = new FtraceReader(input, name, readerOptions);
        using var observer = timeline is null ? null : new PerfettoTimelineWriter(timeline);
        var report = TraceReplayer.Replay(reader, new ReplayOptions { Model = new IdentityReplayModel(), Observer = observer, Input = name });
        observer?.Complete();
        return report;
    }
}
