namespace DmaLab.Replay;

/// <summary>What a mapping lifetime was, for timelines.</summary>
public enum ReplayLifetimeKind : byte { Single, Sg, Coherent }

/// <summary>
/// Receives mapping lifetimes and point events as a replay proceeds (the Perfetto timeline writer is one). Lanes are
/// assigned by the replayer so that lifetimes on one lane of a device never overlap.
/// </summary>
public interface IReplayObserver
{
    void OnDevice(int deviceId, string name);
    /// <summary>A mapping or allocation ended (or is still live at the end: <paramref name="liveAtEnd"/>).</summary>
    void OnLifetime(int deviceId, int lane, ReplayLifetimeKind kind, ulong startNs, ulong endNs, ulong dmaAddr, ulong physAddr,
                    ulong size, long line, bool liveAtEnd, Dma.DmaDirection direction);
    /// <summary>A point event: a marker (<paramref name="deviceId"/> -1) or an IOMMU fault / finding on a device.</summary>
    void OnInstant(int deviceId, ulong ns, string name, string detail, long line);
    /// <summary>A counter's value from trace time <paramref name="ns"/> on; <paramref name="name"/> names its track
    /// (the device, "domain 3: 0000:00:04.0", "swiotlb"). Off unless an observer is attached.</summary>
    void OnCounter(ReplayCounterKind kind, int id, string name, ulong ns, double value) { }
}
