using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>
/// Optional for an <see cref="IReplayModel"/>: sees each record as it enters the replayer's lookahead window, i.e. up
/// to <see cref="ReplayOptions.ReorderWindow"/> records before the calls are replayed, to infer platform parameters
/// the events show only indirectly (a device's swiotlb min_align_mask). Not for choosing addresses.
/// </summary>
public interface ITraceEvidence
{
    void Observe(TraceRecord r);
}
