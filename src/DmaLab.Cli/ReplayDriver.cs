using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Cli.Report;
using DmaLab.Cli.Report.Perfetto;
using DmaLab.Platform;
using DmaLab.Platform.KernelLog;

namespace DmaLab.Cli;

/// <summary>What `dmalab replay` was asked to do.</summary>
public sealed record ReplayRequest(string Input, string? Platform, string? Policy, string? Iommu, ulong Seed, string? Dmesg = null)
{
    /// <summary>Keep every finding instance (--findings all), not the first 50 of each kind.</summary>
    public bool AllFindings { get; init; }
    public ReplayFilter? Filter { get; init; }
    /// <summary>--explain LINE: the trace line whose replay decisions are reported (0: none).</summary>
    public long ExplainLine { get; init; }
    /// <summary>--no-resync: never take the kernel's address where the model's own was wrong.</summary>
    public bool NoResync { get; init; }
}

/// <summary>A request whose every argument was checked: ready to run.</summary>
public sealed record PreparedReplay(ReplayRequest Request, ReplayPolicy? Policy, PlatformSpec? Platform, KernelLogFacts? Log);

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

    /// <summary>Checks every argument before any work: policy, IOMMU family, filter bounds, platform, the trace file.</summary>
    public static PreparedReplay Prepare(ReplayRequest request, string traceWhat = "trace")
    {
        ReplayPolicy? policy = null;
        if (request.Policy is string p)
            policy = Policies.TryGetValue(p, out var pol) ? pol
                : throw new UsageException($"--policy {p}: expected one of {string.Join(", ", Policies.Keys)}{Suggest(p, Policies.Keys)}");
        if (request.Iommu is string m && !ReplayIommuFamily.Names.Contains(m))
            throw new UsageException($"--iommu {m}: expected one of {string.Join(", ", ReplayIommuFamily.Names)}{Suggest(m, ReplayIommuFamily.Names)}");
        if (request.Filter is { FromSeconds: double from, ToSeconds: double to } && to < from)
            throw new UsageException($"--to {to}: before --from {from}");
        CliPaths.InputFile(traceWhat, request.Input, stdin: true);
        var platform = request.Platform is null ? null : PlatformResolver.Resolve(request.Platform);
        KernelLogFacts? log = null;
        if (request.Dmesg is string dmesg)
        {
            CliPaths.InputFile("--dmesg", dmesg);
            using var logStream = File.OpenRead(dmesg);
            log = KernelLogReader.Read(logStream, dmesg);
        }
        return new PreparedReplay(request, policy, platform, log);
    }

    static string Suggest(string word, IEnumerable<string> names) => ParseErrors.Nearest(word, names) is string n ? $"; did you mean {n}?" : "";

    public static ReplayReport Run(PreparedReplay prepared, Stream? timeline, Action<TraceProgress>? progress, bool protobufTimeline = true)
    {
        var request = prepared.Request;
        using Stream input = request.Input == "-" ? Console.OpenStandardInput() : File.OpenRead(request.Input);
        string name = request.Input == "-" ? "<stdin>" : request.Input;
        IReplayObserver? writer = timeline is null ? null
            : protobufTimeline ? new PerfettoTimelineWriter(timeline) : new TraceEventJsonTimelineWriter(timeline);
        var report = ReplayRunner.Run(input, name, new ReplayRunOptions
        {
            Platform = prepared.Platform,
            Policy = prepared.Policy,
            IommuModel = request.Iommu,
            KernelLog = prepared.Log,
            Resync = !request.NoResync,
            Observer = writer,
            Progress = progress,
            Replay = new ReplayOptions
            {
                MaxFindingsPerKind = request.AllFindings ? int.MaxValue : new ReplayOptions().MaxFindingsPerKind,
                Filter = request.Filter,
                ExplainLine = request.ExplainLine,
            },
        });
        if (writer is PerfettoTimelineWriter pf) pf.Complete();
        else if (writer is TraceEventJsonTimelineWriter tj) tj.Complete();
        if (report.EventLinesInTrace == 0)
            throw new UsageException($"{name}: no events ({report.TotalLines:N0} lines read, none of them a 'TASK-PID [CPU] FLAGS TIMESTAMP: EVENT:' line); nothing to replay");
        if (request.Filter is { Devices.Count: > 0 } f)
            foreach (var d in f.Devices)
                if (!report.Devices.Any(x => x.Name == d) && !KnownDevice(report, d))
                    throw new UsageException($"--device {d}: no such device in {name}{Suggest(d, report.Platform.Devices.Select(x => x.Name))}");
        return report;
    }

    static bool KnownDevice(ReplayReport r, string name) => r.Platform.Devices.Any(x => x.Name == name);
}
