namespace DmaLab.Replay;

/// <summary>
/// A deliberately small IOTLB stand-in for what-if replays, where the trace shows the DMA-API calls but not the
/// device's accesses: each new mapping is touched once per page (up to <see cref="MaxPagesTouched"/>), looked up in a
/// direct-mapped table of <see cref="Entries"/> (domain, page) tags. A range invalidation clears the pages it names; a
/// whole-IOTLB flush bumps an epoch so every entry goes stale at once. Allocation-free per operation.
/// </summary>
public sealed class ReplayIotlbEstimate
{
    public const int Entries = 2048;
    public const int MaxPagesTouched = 512;
    readonly ulong[] _tag = new ulong[Entries];
    readonly uint[] _epoch = new uint[Entries];
    uint _now = 1;

    public long Hits { get; private set; }
    public long Misses { get; private set; }

    static int Slot(ulong tag) => (int)((tag * 0x9E3779B97F4A7C15UL) >> 53) & (Entries - 1);
    static ulong Tag(int domain, ulong pfn) => ((ulong)(uint)domain << 44) ^ pfn ^ (1UL << 63);

    public void Touch(int domain, ulong iova, ulong size)
    {
        ulong first = iova >> 12, last = (iova + Math.Max(size, 1) - 1) >> 12;
        ulong pages = Math.Min(last - first + 1, MaxPagesTouched);
        for (ulong p = 0; p < pages; p++)
        {
            ulong t = Tag(domain, first + p);
            int s = Slot(t);
            if (_tag[s] == t && _epoch[s] == _now) { Hits++; continue; }
            Misses++;
            _tag[s] = t;
            _epoch[s] = _now;
        }
    }

    public void InvalidateRange(int domain, ulong iova, ulong size)
    {
        ulong first = iova >> 12, last = (iova + Math.Max(size, 1) - 1) >> 12;
        ulong pages = Math.Min(last - first + 1, MaxPagesTouched);
        for (ulong p = 0; p < pages; p++)
        {
            ulong t = Tag(domain, first + p);
            int s = Slot(t);
            if (_tag[s] == t) _tag[s] = 0;
        }
    }

    public void FlushAll() => _now++;
}
