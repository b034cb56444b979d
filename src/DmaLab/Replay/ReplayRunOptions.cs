using DmaLab.Platform;
using DmaLab.Platform.KernelLog;
using DmaLab.Sim;
using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>Options of <see cref="ReplayRunner.Run"/> (what `dmalab replay` passes).</summary>
public sealed class ReplayRunOptions
{
    /// <summary>The machine the trace ran on (--platform); null = inferred from the trace.</summary>
    public PlatformSpec? Platform { get; init; }
    /// <summary>What-if policy (--policy); null or <see cref="ReplayPolicy.AsTraced"/> = no what-if unless
    /// <see cref="IommuModel"/> is set (then strict).</summary>
    public ReplayPolicy? Policy { get; init; }
    /// <summary>What-if IOMMU family (--iommu): every device behind it (<see cref="ReplayIommuFamily.Names"/>).</summary>
    public string? IommuModel { get; init; }
    /// <summary>Receives mapping lifetimes and instants as the replay goes (the CLI's --timeline writer); the caller
    /// completes it after <see cref="ReplayRunner.Run"/> returns.</summary>
    public IReplayObserver? Observer { get; init; }
    public Action<TraceProgress>? Progress { get; init; }
    /// <summary>PCI host bridge memory windows kept out of PCI devices' IOVA space (from a platform text's dmesg).</summary>
    public IReadOnlyList<(ulong Start, ulong End, ulong Offset)> PciWindows { get; init; } = [];
    public CostModel? Costs { get; init; }
    /// <summary>The traced machine's kernel log (--dmesg): the facts it states win over guesses from the trace
    /// (IOMMU family, invalidation policy, swiotlb pool, PCI windows, HZ); the report lists where each fact came from.</summary>
    public KernelLogFacts? KernelLog { get; init; }
    /// <summary>Follow the kernel's address where the model's own was wrong (<see cref="MachineReplayOptions.Resync"/>;
    /// --no-resync turns it off).</summary>
    public bool Resync { get; init; } = true;
    /// <summary>Bookkeeping only (no model, no fidelity): the fastest pass.</summary>
    public bool NoModel { get; init; }
    /// <summary>Parse on worker threads ahead of the replay (<see cref="FtraceReaderOptions.ReadAhead"/>); the report
    /// is the same either way. On by default (see <see cref="FtraceReadAhead"/> and docs/BENCHMARKS.md).</summary>
    public bool ReadAhead { get; init; } = true;
    /// <summary>Bookkeeping options (cacheline size, listing limits); Model/Observer/Input are set by the runner.</summary>
    public ReplayOptions? Replay { get; init; }
}
