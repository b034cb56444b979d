namespace DmaLab.Replay;

/// <summary>A counter a replay reports over trace time to its <see cref="IReplayObserver"/> (timeline counter tracks).</summary>
public enum ReplayCounterKind : byte
{
    /// <summary>Streaming mappings live on a device (id: the device).</summary>
    LiveMappings,
    /// <summary>Bytes of the streaming mappings live on a device (id: the device).</summary>
    LiveBytes,
    /// <summary>Bytes of IOVA space allocated in a DMA domain's iova_domain (id: the domain).</summary>
    IovaBytesInUse,
    /// <summary>IOVAs waiting in a lazy domain's flush queue (id: the domain).</summary>
    FlushQueueDepth,
    /// <summary>swiotlb slots (IO_TLB_SIZE each) in use (id: the pool).</summary>
    SwiotlbSlotsInUse,
    /// <summary>IOTLB misses per millisecond of trace time on the what-if machine (id 0).</summary>
    IotlbMissesPerMs,
}
