namespace DmaLab.Replay;

/// <summary>
/// A replay model that can report its machine's state as counters (IOVA space per domain, flush-queue depth, swiotlb
/// slots, IOTLB misses). The replayer asks at most once per <see cref="IntervalNs"/> of trace time, and only when an
/// observer is attached, so a replay without a timeline pays one null check per event.
/// </summary>
public interface IReplayCounterSource
{
    public const ulong IntervalNs = 1_000_000;

    /// <summary>Reports the current values at trace time <paramref name="ns"/>.</summary>
    void SampleCounters(ulong ns, IReplayObserver observer);
}
