using DmaLab.Dma;

namespace DmaLab.Replay;

public sealed partial class MachineReplayModel
{
    /// <summary>Slots the model searched at a swiotlb_bounced line, waiting for the dma_map_* that reports them.</summary>
    readonly Dictionary<int, Queue<(ulong Phys, ulong Size, DmaAddr Dma)>> _bounced = new();

    public void Bounced(in ReplayCall c)
    {
        if (_opt.Policy != ReplayPolicy.AsTraced) return;
        Tick(c);
        var d = D(c);
        if (d.Path is DmaPath.Unknown or DmaPath.DirectTentative)
        {
            d.Path = DmaPath.Swiotlb;
            _paths["swiotlb"] = _paths.GetValueOrDefault("swiotlb") + 1;
        }
        if (d.Path != DmaPath.Swiotlb) return;
        var dma = BounceNow(d, c, c.Phys, c.Size);
        if (!_bounced.TryGetValue(d.Id, out var q)) _bounced.Add(d.Id, q = new());
        q.Enqueue((c.Phys, c.Size, dma));
    }

    DmaAddr BounceNow(Dev d, in ReplayCall c, ulong phys, ulong size)
    {
        EnsurePool(c);
        ApplyMinAlignEvidence(d);
        // swiotlb_map(): the slot copy direction is not known yet at the bounced line; 6.12 copies for every direction.
        var r = _pool!.Map(d.Device, new Mm.PhysAddr(phys), size, DmaDirection.Bidirectional, DmaAttrs.None, Cpu(c.Cpu));
        if (r.IsError) _failures++;
        else _bounces++;
        return r;
    }

    /// <summary>The slot searched at this buffer's swiotlb_bounced line, or a search now when there was none.</summary>
    DmaAddr TakeBounce(Dev d, in ReplayCall c, ulong phys, ulong size)
    {
        if (_bounced.TryGetValue(d.Id, out var q))
        {
            while (q.Count > 0)
            {
                var (p, s, dma) = q.Dequeue();
                if (p == phys && s == size) return dma;
                // A bounce no call reported (lost events): give its slots back.
                if (!dma.IsError) _pool!.TblUnmapSingle(d.Device, new Mm.PhysAddr(dma.Value), s, DmaDirection.Bidirectional, DmaAttrs.SkipCpuSync);
            }
        }
        return BounceNow(d, c, phys, size);
    }
}
