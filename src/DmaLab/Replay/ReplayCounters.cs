namespace DmaLab.Replay;

/// <summary>
/// What one device or one process did during a replay: calls, bytes, live mappings now and at their peak, a size
/// histogram and a sampled live-mappings series. Streaming mappings (map_phys/page/resource, map_sg) count as
/// mappings; coherent allocations (dma_alloc*) are counted apart.
/// </summary>
public class ReplayCounters
{
    public string Name { get; internal set; } = "";
    public long Maps { get; internal set; }
    public long Unmaps { get; internal set; }
    public long SingleMaps { get; internal set; }
    public long SgMaps { get; internal set; }
    public long SgUnmaps { get; internal set; }
    public long MapErrors { get; internal set; }
    public ulong BytesMapped { get; internal set; }
    public ulong BytesUnmapped { get; internal set; }
    public long Allocs { get; internal set; }
    public long Frees { get; internal set; }
    public ulong AllocBytes { get; internal set; }
    public long Syncs { get; internal set; }
    public long LiveMappings { get; internal set; }
    public long LiveBytes { get; internal set; }
    public long LiveAllocs { get; internal set; }
    public long LiveAllocBytes { get; internal set; }
    public long PeakLiveMappings { get; internal set; }
    public long PeakLiveBytes { get; internal set; }
    public ulong PeakAtNs { get; internal set; }
    public ulong FirstNs { get; internal set; }
    public ulong LastNs { get; internal set; }
    public ReplaySizeHistogram Sizes { get; } = new();
    public ReplayLiveSeries Live { get; } = new();

    internal void Touch(ulong ns)
    {
        if (FirstNs == 0 || ns < FirstNs) FirstNs = ns;
        if (ns > LastNs) LastNs = ns;
    }

    internal void OnMap(ulong ns, ulong bytes, bool sg)
    {
        Maps++;
        if (sg) SgMaps++; else SingleMaps++;
        BytesMapped = Saturating(BytesMapped, bytes);
        Sizes.Add(bytes);
        LiveMappings++;
        long b = (long)Math.Min(bytes, long.MaxValue);
        LiveBytes = LiveBytes > long.MaxValue - b ? long.MaxValue : LiveBytes + b;
        if (LiveMappings > PeakLiveMappings) { PeakLiveMappings = LiveMappings; PeakAtNs = ns; }
        if (LiveBytes > PeakLiveBytes) PeakLiveBytes = LiveBytes;
        Live.Record(ns, LiveMappings, LiveBytes);
    }

    internal void OnUnmap(ulong ns, ulong bytes, bool sg, bool matched)
    {
        Unmaps++;
        if (sg) SgUnmaps++;
        if (!matched) return;
        BytesUnmapped = Saturating(BytesUnmapped, bytes);
        LiveMappings--;
        LiveBytes -= (long)bytes;
        Live.Record(ns, LiveMappings, LiveBytes);
    }

    /// <summary>A mapping this owner made was unmapped (possibly by another task, e.g. in an interrupt).</summary>
    internal void LiveMappingsDec(ulong ns, ulong bytes)
    {
        BytesUnmapped = Saturating(BytesUnmapped, bytes);
        LiveMappings--;
        LiveBytes -= (long)bytes;
        Live.Record(ns, LiveMappings, LiveBytes);
    }

    /// <summary>Byte totals come from traced sizes: they stop at the top instead of wrapping.</summary>
    internal static ulong Saturating(ulong total, ulong n) => total > ulong.MaxValue - n ? ulong.MaxValue : total + n;

    /// <summary>Maps per second of trace time between this owner's first and last call.</summary>
    public double MapsPerSecond => LastNs > FirstNs ? Maps / ((LastNs - FirstNs) / 1e9) : 0;
}

/// <summary>Per-device replay counters plus what the trace says about the device's DMA path.</summary>
public sealed class ReplayDeviceStats : ReplayCounters
{
    public int Id { get; internal set; }
    /// <summary>Single mappings whose dma_addr equals phys_addr.</summary>
    public long IdentityMaps { get; internal set; }
    /// <summary>Single mappings preceded by a swiotlb_bounced of the same device, buffer and size.</summary>
    public long BouncedMaps { get; internal set; }
    /// <summary>Single mappings whose dma_addr differs from phys_addr and was not bounced.</summary>
    public long TranslatedMaps { get; internal set; }
    /// <summary>dma_addr − phys_addr when every non-bounced single mapping had the same nonzero difference.</summary>
    public long? ConstantOffset { get; internal set; }
    internal bool OffsetVaries;
    public long SwiotlbBounces { get; internal set; }
    public bool SwiotlbForced { get; internal set; }
    public ulong? DmaMask { get; internal set; }
    public ulong MaxDmaAddrEnd { get; internal set; }
    public long IommuMaps { get; internal set; }
    public long IommuUnmaps { get; internal set; }
    public ulong IommuMappedBytes { get; internal set; }
    public long IoPageFaults { get; internal set; }
    public int? IommuGroup { get; internal set; }
    public bool AttachedToDomain { get; internal set; }
    /// <summary>Another device had the same dma_addr live at the same time: the two cannot share one IOVA space.</summary>
    public bool IovaOverlapsOtherDevice { get; internal set; }
    public long UnmatchedUnmaps { get; internal set; }
    public long SwiotlbSlotsLow { get; internal set; } = -1;
    public long SwiotlbSlotsHigh { get; internal set; } = -1;

    // The last swiotlb_bounced of this device, waiting for its dma_map_* (Linux: swiotlb_map() traces first).
    internal bool PendingBounce;
    internal ulong PendingBouncePhys, PendingBounceSize;
}

/// <summary>Per-process (task-pid) replay counters.</summary>
public sealed class ReplayProcessStats : ReplayCounters
{
    public int Pid { get; internal set; }
    public string Task { get; internal set; } = "";
}
