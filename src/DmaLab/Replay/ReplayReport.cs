using DmaLab.Analysis;
using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>Counters of one device or process in a <see cref="ReplayReport"/> (device-only fields are null for processes).</summary>
public sealed class ReplayOwnerReport
{
    public string Name { get; init; } = "";
    public int? Pid { get; init; }
    public long Maps { get; init; }
    public long Unmaps { get; init; }
    public long SingleMaps { get; init; }
    public long SgMaps { get; init; }
    public long SgUnmaps { get; init; }
    public long MapErrors { get; init; }
    public ulong BytesMapped { get; init; }
    public ulong BytesUnmapped { get; init; }
    public long Allocs { get; init; }
    public long Frees { get; init; }
    public ulong AllocBytes { get; init; }
    public long Syncs { get; init; }
    public long LiveMappingsAtEnd { get; init; }
    /// <summary>The call sites (kernel stacks of options/stacktrace) with the most mappings live at the end, then
    /// findings, then maps; empty when the trace has no stacks.</summary>
    public List<ReplayCallSite> CallSites { get; init; } = new();
    /// <summary>Distinct stacks seen on mapping calls and findings (<see cref="CallSites"/> lists the top ones).</summary>
    public int CallSiteCount { get; init; }
    /// <summary>Lines of stack traces, and stacks that had no event before them to belong to.</summary>
    public long StackLines { get; init; }
    public long OrphanStacks { get; init; }
    public long LiveBytesAtEnd { get; init; }
    public long LiveAllocsAtEnd { get; init; }
    public long LiveAllocBytesAtEnd { get; init; }
    public long PeakLiveMappings { get; init; }
    public long PeakLiveBytes { get; init; }
    public ulong PeakAtNs { get; init; }
    public double MapsPerSecond { get; init; }
    public List<SizeBucket> SizeHistogram { get; init; } = new();
    public List<LiveSample> LiveSeries { get; init; } = new();
    // Device only.
    public string? DmaOps { get; init; }
    public long? IdentityMaps { get; init; }
    public long? TranslatedMaps { get; init; }
    public long? BouncedMaps { get; init; }
    public long? SwiotlbBounces { get; init; }
    public long? IommuMaps { get; init; }
    public long? IommuUnmaps { get; init; }
    public ulong? IommuMappedBytes { get; init; }
    public long? IoPageFaults { get; init; }
    public long? UnmatchedUnmaps { get; init; }
}

/// <summary>The kernel log a replay read: lines read, lines with a kernel-log prefix, lines that gave a fact.</summary>
public sealed record ReplayKernelLogSummary(string Input, long Lines, long KernelLines, long FactLines);

/// <summary>
/// Everything a replay found, shaped for `dmalab replay --json` (the minimum contract of DESIGN.md plus more):
/// input, line counts, events by name, per-device and per-process counters, live mappings at the end, fidelity,
/// findings, the inferred platform and per-marker phases.
/// </summary>
public sealed class ReplayReport
{
    public string Input { get; init; } = "";
    /// <summary>Event lines (every TASK-PID [CPU] ... EVENT: line, known or not); with a <see cref="Filter"/>, those
    /// in view.</summary>
    public long Lines { get; init; }
    /// <summary>Event lines in the whole trace (equals <see cref="Lines"/> without a filter).</summary>
    public long EventLinesInTrace { get; init; }
    /// <summary>The report's filter in words (ReplayFilter.Describe), null when everything is reported.</summary>
    public string? Filter { get; init; }
    /// <summary>Lines skipped as malformed: lines the reader could not parse plus <see cref="MalformedEvents"/>.</summary>
    public long SkippedLines { get; init; }
    /// <summary>Parsed records the kernel could not have produced, refused by <see cref="TraceRecordValidator"/>
    /// (listed in <see cref="Malformed"/> with the record as the formatter prints it).</summary>
    public long MalformedEvents { get; init; }
    public long TotalLines { get; init; }
    public long UnknownEventLines { get; init; }
    public string Compression { get; init; } = "";
    /// <summary>What the input was: "ftrace text" (tracefs or `trace-cmd report`) or "trace-cmd .dat v6"/"v7" (then
    /// <see cref="Lines"/> counts records).</summary>
    public string InputFormat { get; init; } = "";
    /// <summary>What the input held that the reader did not read (a .dat's other trace instances).</summary>
    public List<string> InputNotes { get; init; } = new();
    public SortedDictionary<string, long> Events { get; init; } = new(StringComparer.Ordinal);
    public List<ReplayOwnerReport> Devices { get; init; } = new();
    public List<ReplayOwnerReport> Processes { get; init; } = new();
    /// <summary>Streaming mappings (single and sg) still live at the end of the trace.</summary>
    public long LiveMappingsAtEnd { get; init; }
    /// <summary>The call sites (kernel stacks of options/stacktrace) with the most mappings live at the end, then
    /// findings, then maps; empty when the trace has no stacks.</summary>
    public List<ReplayCallSite> CallSites { get; init; } = new();
    /// <summary>Distinct stacks seen on mapping calls and findings (<see cref="CallSites"/> lists the top ones).</summary>
    public int CallSiteCount { get; init; }
    /// <summary>Lines of stack traces, and stacks that had no event before them to belong to.</summary>
    public long StackLines { get; init; }
    public long OrphanStacks { get; init; }
    public long LiveBytesAtEnd { get; init; }
    public long LiveAllocsAtEnd { get; init; }
    public long UnmatchedUnmaps { get; init; }
    public ReplayFidelity Fidelity { get; init; } = new();
    public List<Finding> Findings { get; init; } = new();
    public SortedDictionary<string, long> FindingCounts { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Findings by kind and device with counts (every instance counted, whatever was listed).</summary>
    public List<ReplayFindingGroup> FindingGroups { get; init; } = new();
    /// <summary>Per device, the streaming mappings live when the trace ended and what they look like.</summary>
    public List<ReplayLiveAtEnd> LiveAtEnd { get; init; } = new();
    /// <summary>Findings that fail `--check`: every kind but the informational ones (live-at-end).</summary>
    public long FailingFindings => FindingGroups.Where(g => !g.Informational).Sum(g => g.Count);
    public InferredPlatform Platform { get; init; } = new();
    public List<ReplayPhase> Phases { get; init; } = new();
    public long DroppedPhases { get; init; }
    public List<MalformedLine> Malformed { get; init; } = new();
    public List<LostEvents> Lost { get; init; } = new();
    public long LostEventCount { get; init; }
    /// <summary>Where binary data started after the text (offset, line), -1 when none; the text before it was replayed
    /// and <see cref="BinaryBytesDropped"/> bytes after it were not.</summary>
    public long BinaryOffset { get; init; } = -1;
    public long BinaryLine { get; init; }
    public long BinaryBytesDropped { get; init; }
    public ulong FirstTimestampNs { get; init; }
    public ulong LastTimestampNs { get; init; }
    public double DurationSeconds { get; init; }
    public long ReplayedEvents { get; init; }
    public long Maps { get; init; }
    public double MapsPerSecond { get; init; }
    /// <summary>Map calls the replay moved ahead of an interrupt traced inside them (see ReplayReorderWindow).</summary>
    public long ReorderedCalls { get; set; }
    /// <summary>Calls replayed ahead of an interrupt the trace shows before them, because the model's preview said
    /// only that order gives their address (see <see cref="ReplayFidelity.Inferred"/>).</summary>
    public long FloatedCalls { get; set; }
    /// <summary>What the traced configuration cost on the model (model-backed replays only).</summary>
    public ReplayModelStats? Model { get; set; }
    /// <summary>How the model read the platform from the trace (pool base, IOMMU family, learned device limits).</summary>
    public List<string>? ModelNotes { get; set; }
    /// <summary>What the replay knew about the traced machine and where each fact came from (log, trace, platform,
    /// option, default).</summary>
    public List<ReplayPlatformFact> Facts { get; set; } = new();
    /// <summary>The kernel log given with --dmesg: its name and line counts (null without one).</summary>
    public ReplayKernelLogSummary? KernelLog { get; set; }
    /// <summary>The IOMMU-layer replay of a trace without dma:* events (kernels before 6.12); null otherwise.</summary>
    public IommuLayerReport? IommuLayer { get; set; }
    /// <summary>With <see cref="ReplayOptions.ExplainLine"/>: what the replay decided for that line and why.</summary>
    public List<string>? Explain { get; set; }
    /// <summary>The what-if re-run next to the original (when asked).</summary>
    public ReplayWhatIfReport? WhatIf { get; set; }
}
