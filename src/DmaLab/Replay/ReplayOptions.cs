namespace DmaLab.Replay;

/// <summary>Options for <see cref="TraceReplayer"/>.</summary>
public sealed class ReplayOptions
{
    /// <summary>Model asked to perform every call (fidelity); null = bookkeeping only, fidelity not computed.</summary>
    public IReplayModel? Model { get; init; }
    /// <summary>Receives lifetimes and instants (e.g. the CLI's timeline writer).</summary>
    public IReplayObserver? Observer { get; init; }
    /// <summary>dma-debug's cacheline size for overlap tracking (Linux: L1_CACHE_BYTES, 64 on x86-64 and arm64).</summary>
    public int CachelineBytes { get; init; } = 64;
    /// <summary>Findings listed per kind (all are counted).</summary>
    public int MaxFindingsPerKind { get; init; } = 50;
    /// <summary>Call sites listed in the report (the top ones by live mappings at the end, findings, maps).</summary>
    public int MaxCallSites { get; init; } = 20;
    public int MaxMismatchesListed { get; init; } = 20;
    public int MaxPhases { get; init; } = 10_000;
    /// <summary>Processes (pids) tracked one by one; later pids are counted together as "(other)" so that
    /// fork-heavy traces stay in bounded memory.</summary>
    public int MaxProcesses { get; init; } = 4096;
    /// <summary>Records held in the lookahead window when a model is set (interrupt reordering, IOMMU-layer maps);
    /// 0 turns the window off. Constant memory: the window reuses its records.</summary>
    public int ReorderWindow { get; init; } = 1024;
    /// <summary>The validation boundary every record passes first; null: <see cref="TraceRecordValidator"/> with
    /// 64-bit device masks.</summary>
    public TraceRecordValidator? Validator { get; init; }
    /// <summary>A mapping still live at the end is a leak when its kind (device, single/sg, size) was unmapped at least
    /// <see cref="LeakMinUnmaps"/> times during the trace and it is older than this many times the longest such
    /// lifetime (see TraceReplayer.Leaks).</summary>
    public double LeakAgeFactor { get; init; } = 4;
    public int LeakMinUnmaps { get; init; } = 8;
    /// <summary>What the report shows (null: everything); the model still sees every event.</summary>
    public ReplayFilter? Filter { get; init; }
    /// <summary>Receives the iommu:* events while the trace shows no dma:* event (a kernel before 6.12), to replay
    /// it at the IOMMU layer; null = not asked.</summary>
    public IommuLayerReplay? IommuLayer { get; init; }
    /// <summary>A trace line whose replay decisions are written to <see cref="ReplayReport.Explain"/> (0: none).</summary>
    public long ExplainLine { get; init; }
    /// <summary>Input name for the report.</summary>
    public string Input { get; init; } = "";
}
