using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Cli.Report;
using DmaLab.Platform.KernelLog;

namespace DmaLab.Cli;

/// <summary>What `dmalab replay` was asked to do.</summary>
public sealed record ReplayRequest(string Input, string? Platform, string? Policy, string? Iommu, ulong Seed, string? Dmesg = null);

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

    public static ReplayReport Run(ReplayRequest request, Stream? timeline, Action<TraceProgress>? progress)
    {
        ReplayPolicy? policy = null;
        if (request.Policy is string p)
            policy = Policies.TryGetValue(p, out var pol) ? pol
                : throw new UsageException($"--policy {p}: expected one of {string.Join(", ", Policies.Keys)}");
        if (request.Iommu is string m && !ReplayIommuFamily.Names.Contains(m))
            throw new UsageException($"--iommu {m}: expected one of {string.Join(", ", ReplayIommuFamily.Names)}");
        var platform = request.Platform is null ? null : PlatformResolver.Resolve(request.Platform);
        if (request.Input != "-" && !File.Exists(request.Input)) throw new UsageException($"{request.Input}: no such trace file");
        KernelLogFacts? log = null;
        if (request.Dmesg is string dmesg)
        {
            if (!File.Exists(dmesg)) throw new UsageException($"{dmesg}: no such kernel log file (--dmesg)");
            using var logStream = File.OpenRead(dmesg);
            log = KernelLogReader.Read(logStream, dmesg);
        }
        using Stream input = request.Input == "-" ? Console.OpenStandardInput() : File.OpenRead(request.Input);
        string name = request.Input == "-" ? "<stdin>" : request.Input;
        var writer = timeline is null ? null : new PerfettoTimelineWriter(timeline);
        var report = ReplayRunner.Run(input, name, new ReplayRunOptions
        {
            Platform = platform,
            Policy = policy,
            IommuModel = request.Iommu,
            KernelLog = log,
            Observer = writer,
            Progress = progress,
        });
        writer?.Complete();
        return report;
    }
}
