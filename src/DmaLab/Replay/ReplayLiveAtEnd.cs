namespace DmaLab.Replay;

/// <summary>
/// One device's streaming mappings still live when the trace ended, and what they look like: <see cref="Pattern"/>
/// names a ring (long-lived mappings of one size, refilled as they are unmapped: NIC rx/tx rings, NVMe queues) when
/// the device shows one; <see cref="Leaked"/> counts those judged leaks (see <see cref="ReplayFindingKinds"/>).
/// </summary>
public sealed class ReplayLiveAtEnd
{
    public string Device { get; init; } = "";
    public long Mappings { get; init; }
    public long Bytes { get; init; }
    /// <summary>Size of most live mappings (the ring's buffer size), 0 when they vary.</summary>
    public ulong CommonSize { get; init; }
    public long CommonSizeCount { get; init; }
    /// <summary>"ring" when the device keeps a ring of mappings mapped, else null.</summary>
    public string? Pattern { get; init; }
    public long Leaked { get; init; }
    /// <summary>Line of the oldest live mapping.</summary>
    public long FirstLine { get; init; }
    public string Summary { get; init; } = "";
}
