using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Cli.Report;
using DmaLab.Cli.Report.Perfetto;

namespace DmaLab.Cli;

/// <summary>What `dmalab replay` was asked to do.</summary>
public sealed record ReplayRequest(string Input, string? Platform, string? Policy, string? Iommu, ulong Seed);

/// <summary>Opens the trace (file or stdin) and runs the replay through the library's model-backed runner.</summary>
public static class ReplayDriver
{
    public static readonly IReadOnlyDictionary<string, ReplayPolicy> Policies = new Dictionary<string, ReplayPolicy>(StringComparer.Ordinal)
    {
        ["strict"] = ReplayPolicy.Strict,
        ["lazy"] = ReplayPolicy.Lazy,
        ["passthrough"] = ReplayPolicy.Passthrough,
        ["swiotlb-force"] = ReplayPolicy.SwiotlbForce,
    };

    /// <summary>The timeline format a --timeline path asks for: Perfetto protobuf for .pftrace (or .perfetto-trace),
    /// trace-event JSON for .json; anything else is a usage error.</summary>
    public static bool TimelineIsProtobuf(string path) =>
        path.EndsWith(".pftrace", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".perfetto-trace", StringComparison.OrdinalIgnoreCase) ? true
        : path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? false
        : throw new UsageException($"--timeline {path}: expected a .pftrace (Perfetto protobuf) or .json (trace-event JSON) file name");

    public static ReplayReport Run(ReplayRequest request, Stream? timeline, Action<TraceProgress>? progress, bool protobufTimeline = true)
    {
        ReplayPolicy? policy = null;
        if (request.Policy is string p)
            policy = Policies.TryGetValue(p, out var pol) ? pol
                : throw new UsageException($"--policy {p}: expected one of {string.Join(", ", Policies.Keys)}");
        if (request.Iommu is string m && !ReplayIommuFamily.Names.Contains(m))
            throw new UsageException($"--iommu {m}: expected one of {string.Join(", ", ReplayIommuFamily.Names)}");
        var platform = request.Platform is null ? null : PlatformResolver.Resolve(request.Platform);
        if (request.Input != "-" && !File.Exists(request.Input)) throw new UsageException($"{request.Input}: no such trace file");
        using Stream input = request.Input == "-" ? Console.OpenStandardInput() : File.OpenRead(request.Input);
        string name = request.Input == "-" ? "<stdin>" : request.Input;
        IReplayObserver? writer = timeline is null ? null
            : protobufTimeline ? new PerfettoTimelineWriter(timeline) : new TraceEventJsonTimelineWriter(timeline);
        var report = ReplayRunner.Run(input, name, new ReplayRunOptions
        {
            Platform = platform,
            Policy = policy,
            IommuModel = request.Iommu,
            Observer = writer,
            Progress = progress,
        });
        if (writer is PerfettoTimelineWriter pf) pf.Complete();
        else if (writer is TraceEventJsonTimelineWriter tj) tj.Complete();
        return report;
    }
}
