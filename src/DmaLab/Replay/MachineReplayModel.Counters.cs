namespace DmaLab.Replay;

public sealed partial class MachineReplayModel : IReplayCounterSource
{
    string[] _domainNames = [];

    /// <summary>IOVA space in use in each DMA domain's iova_domain (bytes; rcache-parked ranges count, as they are
    /// allocated in the tree), each lazy domain's flush-queue depth, and the swiotlb slots in use.</summary>
    public void SampleCounters(ulong ns, IReplayObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (_domainNames.Length <= _domains) Array.Resize(ref _domainNames, _domains + 1);
        foreach (var d in _byId)
        {
            if (d?.Domain is not { } dom || dom.IsMsiCookie) continue;
            // several devices may share a domain: report it once, under the first device seen in it
            string? name = _domainNames[d.DomainId];
            if (name is null) _domainNames[d.DomainId] = name = $"domain {d.DomainId} ({d.Device.Name})";
            else if (!name.EndsWith($"({d.Device.Name})", StringComparison.Ordinal)) continue;
            observer.OnCounter(ReplayCounterKind.IovaBytesInUse, d.DomainId, name, ns, dom.Iovad.PagesInUse() * dom.Iovad.Granule);
            if (dom.Fq is { } fq) observer.OnCounter(ReplayCounterKind.FlushQueueDepth, d.DomainId, name, ns, fq.Depth);
        }
        if (_pool is { } pool) observer.OnCounter(ReplayCounterKind.SwiotlbSlotsInUse, 0, "swiotlb", ns, pool.Stats.UsedSlots);
    }
}
