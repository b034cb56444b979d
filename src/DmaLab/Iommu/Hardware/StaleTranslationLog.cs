namespace DmaLab.Iommu.Hardware;

/// <summary>
/// Model-only bookkeeping of stale-translation hits on one <see cref="TranslationUnit"/>: device accesses the IOTLB
/// translated with an entry whose descriptor the driver had already cleared from the page table but not yet
/// invalidated (lazy mode's exposure: Linux drivers/iommu/dma-iommu.c defers the IOTLB flush of an unmapped IOVA to
/// its flush queue; a driver that forgets a TLBI shows up here too). Hardware cannot tell; the model can, because it
/// holds the tables. A fixed ring of the latest unmaps (tag, range, virtual time) gives each stale hit its window,
/// the time since the unmap. Allocation-free after construction.
/// </summary>
public sealed class StaleTranslationLog
{
    /// <summary>Unmaps remembered for window lookups; older ones only bound the window from below.</summary>
    public const int Capacity = 1024;

    struct Unmap
    {
        public ulong Start, End, TimeNs;
        public int Tag;
    }

    readonly Unmap[] _ring = new Unmap[Capacity];
    int _next;
    long _recorded;

    /// <summary>Device accesses translated through a stale IOTLB entry.</summary>
    public long Hits { get; private set; }
    /// <summary>Bytes of those accesses (up to the end of the 4 KiB page when the access length was not given).</summary>
    public ulong Bytes { get; private set; }
    /// <summary>Longest time, virtual ns, between the unmap of a translation and a stale hit through it.</summary>
    public ulong WindowMaxNs { get; private set; }
    /// <summary>Unmaps recorded since boot.</summary>
    public long UnmapsRecorded => _recorded;

    /// <summary>The driver cleared [<paramref name="iova"/>, +<paramref name="size"/>) of the tables tagged
    /// <paramref name="tag"/> at <paramref name="nowNs"/>.</summary>
    public void RecordUnmap(int tag, ulong iova, ulong size, ulong nowNs)
    {
        ref var u = ref _ring[_next];
        u.Tag = tag;
        u.Start = iova;
        u.End = iova + size - 1;
        u.TimeNs = nowNs;
        _next = (_next + 1) & (Capacity - 1);
        _recorded++;
    }

    /// <summary>A stale hit of <paramref name="bytes"/> at (<paramref name="tag"/>, <paramref name="iova"/>) at
    /// <paramref name="nowNs"/>; returns its window (ns since the newest unmap covering it).</summary>
    public ulong RecordHit(int tag, ulong iova, ulong bytes, ulong nowNs)
    {
        Hits++;
        Bytes += bytes;
        ulong window = WindowOf(tag, iova, nowNs);
        if (window > WindowMaxNs) WindowMaxNs = window;
        return window;
    }

    ulong WindowOf(int tag, ulong iova, ulong nowNs)
    {
        int n = (int)Math.Min(_recorded, Capacity);
        for (int k = 1; k <= n; k++)
        {
            ref var u = ref _ring[(_next - k) & (Capacity - 1)];
            if (u.Tag == tag && iova >= u.Start && iova <= u.End) return nowNs - Math.Min(nowNs, u.TimeNs);
        }
        // Not among the remembered unmaps: it happened before the oldest of them, so the window is at least that long.
        if (n == 0) return 0;
        ulong oldest = _ring[n < Capacity ? 0 : _next].TimeNs;
        return nowNs - Math.Min(nowNs, oldest);
    }
}
