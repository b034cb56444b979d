using DmaLab.Iova;

namespace DmaLab.DmaIommu;

/// <summary>
/// Rival hypotheses of one lazy DMA domain's IOVA state, for a replay that had to choose when (and on which CPU) a
/// flush queue's timer ran because the trace does not say: each rival is the domain's allocator and flush queue as
/// they would be had that flush run at another instant or on another CPU. Every later operation of the domain is
/// applied to each rival as well (allocations, frees, due timers and depot work, the replay's later flush
/// decisions). An allocation whose traced address a rival would not give refutes it; when the domain itself would give
/// another address than the traced one and a rival gives the traced one, the domain takes that rival's state before
/// the allocation. Bounded: at most <see cref="Max"/> rivals and <see cref="MaxBytes"/> of copies, the oldest dropped
/// first, and none when one copy would pass <see cref="MaxBytesEach"/>.
/// </summary>
public sealed class IovaRivals
{
    /// <summary>Rivals kept at once.</summary>
    public const int Max = 160;
    /// <summary>Host memory all rivals of a domain may take together: a domain with a large tree keeps fewer.</summary>
    public const long MaxBytes = 64L << 20;
    /// <summary>Host memory one rival may take: a domain whose copy is larger (a huge tree, hundreds of CPUs' magazines)
    /// keeps none, so a replay never spends its time copying state.</summary>
    public const long MaxBytesEach = 4L << 20;

    /// <summary>Rivals this domain may keep at once now (0 when one copy would pass <see cref="MaxBytesEach"/>).</summary>
    public int Capacity
    {
        get
        {
            if (_main.Fq is null) return 0;
            long each = _main.Iovad.StateBytes + _main.Fq.StateBytes;
            return each > MaxBytesEach ? 0 : (int)Math.Min(Max, MaxBytes / Math.Max(1, each));
        }
    }

    sealed class Rival(IovaDomain iovad, FlushQueue fq, string why, long seq)
    {
        public readonly IovaDomain Iovad = iovad;
        public readonly FlushQueue Fq = fq;
        public readonly string Why = why;
        public readonly long Seq = seq;
    }

    readonly IommuDmaIovaAllocator _main;
    readonly List<Rival> _live = new();

    internal IovaRivals(IommuDmaIovaAllocator main) => _main = main;

    /// <summary>Rivals alive now.</summary>
    public int Count => _live.Count;
    public long Spawned { get; private set; }
    public long Refuted { get; private set; }
    /// <summary>Placements (or rivals) not kept because one copy of the domain would pass <see cref="MaxBytesEach"/>.</summary>
    public long Skipped { get; private set; }
    /// <summary>Times the domain took a rival's state because the rival gave the traced address and it did not.</summary>
    public long Adopted { get; private set; }
    /// <summary>What the last adopted rival assumed, for an explanation.</summary>
    public string? LastAdopted { get; private set; }

    /// <summary>A rival: the domain as it is now, then <paramref name="alternative"/> applied to its flush queue.</summary>
    public void Spawn(Action<FlushQueue> alternative, string why)
    {
        int max = Capacity;
        if (max == 0 || _main.Fq is null) { Skipped++; return; }
        while (_live.Count >= max) _live.RemoveAt(0);
        var iovad = new IovaDomain(_main.Iovad);
        var fq = _main.Fq.Rival(iovad);
        alternative(fq);
        _live.Add(new Rival(iovad, fq, why, Spawned++));
    }

    /// <summary>Counts a placement whose rivals were not kept (<see cref="Capacity"/> is 0).</summary>
    public void NotKept() => Skipped++;

    /// <summary>A decision the replay took for the domain's own flush queue, taken by every rival too.</summary>
    public void Apply(Action<FlushQueue> decision)
    {
        foreach (var r in _live) decision(r.Fq);
    }

    /// <summary>Like <see cref="Apply"/>, for the rivals spawned before the <paramref name="spawnedBefore"/>-th.</summary>
    public void ApplyOlder(Action<FlushQueue> decision, long spawnedBefore)
    {
        foreach (var r in _live)
            if (r.Seq < spawnedBefore) decision(r.Fq);
    }

    /// <summary>Drops every rival (the trace turned out to carry the timer's own events).</summary>
    public void Clear() => _live.Clear();

    internal void Alloc(ulong pages, bool try32, ulong limit32Pfn, ulong limitPfn, int cpu)
    {
        foreach (var r in _live)
        {
            IommuDmaIovaAllocator.RunDue(r.Fq, r.Iovad);
            if (try32 && r.Iovad.AllocIovaFast(cpu, pages, limit32Pfn, false) != 0) continue;
            r.Iovad.AllocIovaFast(cpu, pages, limitPfn, true);
        }
    }

    internal void Free(ulong pfn, ulong pages, int cpu, bool queued, int freedTablePages)
    {
        foreach (var r in _live)
        {
            IommuDmaIovaAllocator.RunDue(r.Fq, r.Iovad);
            if (queued) r.Fq.QueueIova(cpu, pfn, pages, freedTablePages);
            else r.Iovad.FreeIovaFast(cpu, pfn, pages);
        }
    }

    /// <summary>
    /// Before an allocation of <paramref name="size"/> bytes below <paramref name="dmaLimit"/> on
    /// <paramref name="cpu"/> whose traced IOVA is <paramref name="tracedIova"/> (granule-aligned): rivals that would
    /// give another are refuted; if the domain itself would give another and a rival gives the traced one, the domain
    /// takes that rival's state (the newest such rival) and true is returned.
    /// </summary>
    public bool Reconcile(IommuDmaMaster master, ulong size, ulong dmaLimit, int cpu, ulong tracedIova)
    {
        if (_live.Count == 0 || _main.Fq is null) return false;
        ulong mine = _main.PeekIova(master, size, dmaLimit, cpu);
        Rival? take = null;
        for (int i = _live.Count - 1; i >= 0; i--)
        {
            var r = _live[i];
            IommuDmaIovaAllocator.RunDue(r.Fq, r.Iovad);
            if (_main.PeekOn(r.Iovad, master, size, dmaLimit, cpu) == tracedIova) { take ??= r; continue; }
            _live.RemoveAt(i);
            Refuted++;
        }
        if (mine == tracedIova || take is null) return false;
        _main.Iovad.CopyStateFrom(take.Iovad);
        _main.Fq.CopyStateFrom(take.Fq);
        _live.Remove(take);
        Adopted++;
        LastAdopted = take.Why;
        return true;
    }
}
