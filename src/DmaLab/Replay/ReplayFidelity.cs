namespace DmaLab.Replay;

/// <summary>One dma_addr the model got wrong: trace line, device, event, the kernel's address and the model's.</summary>
public sealed record FidelityMismatch(long Line, string Device, string Event, string Expected, string Got)
{
    /// <summary>Lines of the records replayed on the same CPU up to it, in replay order (the first mismatch of each
    /// device only).</summary>
    public IReadOnlyList<long> Context { get; init; } = [];
}

/// <summary>
/// How closely the model reproduced the kernel's dma addresses. One comparison per call (a dma_map_sg matches when
/// every listed entry and the entry count match); <see cref="ComparedSgEntries"/> counts entries. dma_alloc served
/// by dma-direct returns a page the event does not show: counted in <see cref="NotComparable"/>.
/// </summary>
public sealed class ReplayFidelity
{
    public string Model { get; internal set; } = "";
    public long Compared { get; internal set; }
    public long Matched { get; internal set; }
    public long Mismatched => Compared - Matched;
    public long NotComparable { get; internal set; }
    public long ComparedSgEntries { get; internal set; }
    public long MatchedSgEntries { get; internal set; }
    /// <summary>iommu:map lines the IOMMU layer made for itself (MSI doorbell pages) whose IOVA the model also chose;
    /// not part of <see cref="Compared"/>.</summary>
    public long ComparedLayerMaps { get; internal set; }
    public long MatchedLayerMaps { get; internal set; }
    /// <summary>Compared addresses whose result depended on a choice the trace left open: the place of the allocation
    /// among interrupts traced inside the call, chosen by the model's preview, or a lazy domain's flush instants when
    /// the trace has no timer events to fix them. The rest (<see cref="Determined"/>) the trace's order decided.</summary>
    public long Inferred { get; internal set; }
    public long InferredMatched { get; internal set; }
    public long Determined => Compared - Inferred;
    /// <summary>Mismatched allocations after which the model took the kernel's range (it was free in the model) and
    /// went on from the kernel's state rather than its own (<see cref="MachineReplayOptions.Resync"/>); each is counted
    /// as a mismatch all the same.</summary>
    public long Resynced { get; internal set; }
    public long DeterminedMatched => Matched - InferredMatched;
    /// <summary>Matched / Compared; null when nothing was compared (a rate of nothing is no 100 %).</summary>
    public double? MatchRate => Compared == 0 ? null : (double)Matched / Compared;
    /// <summary>"12 of 12 dma_addr equal to the kernel's (100.00 %)", or "nothing to compare" when no dma_addr was
    /// the model's to choose (no dma_map events, or only dma-direct allocations whose page the event hides).</summary>
    public string Summary => MatchRate is double rate
        ? $"{Matched.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} of {Compared.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} dma_addr equal to the kernel's ({(rate * 100).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)} %)"
        : "nothing to compare";
    public List<FidelityMismatch> FirstMismatches { get; } = new();
    /// <summary>The first mismatch of each device, with the lines replayed before it on its CPU.</summary>
    public List<FidelityMismatch> FirstMismatchByDevice { get; } = new();
}
