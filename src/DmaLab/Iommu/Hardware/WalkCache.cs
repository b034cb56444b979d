namespace DmaLab.Iommu.Hardware;

/// <summary>
/// Caches the table (non-leaf) part of recent walks, keyed by tag and the IOVA span one last-level table covers
/// (2 MiB with a 4 KiB granule). A hit means only the leaf descriptor has to come from DRAM. The walk itself is
/// still performed on the descriptors in memory, so this changes cost, never the translation (approximation:
/// real walk caches can also hold stale table pointers after a table page is freed without TLBI).
/// </summary>
public sealed class WalkCache
{
    /// <summary>The IOVA span of one cached path (a last-level table for 4 KiB pages).</summary>
    public const int SpanShift = 21;
    readonly Iotlb? _cache;

    public WalkCache(int entries, ulong seed)
    {
        if (entries > 0) _cache = new Iotlb(entries, Math.Min(entries, 4), IotlbReplacement.Lru, seed);
    }

    public bool Present => _cache is not null;
    public IotlbStats Stats => _cache?.Stats ?? default;

    public bool Lookup(int tag, ulong iova) => _cache is not null && _cache.Lookup(tag, iova, true, out _, out _);
    public void Store(int tag, ulong iova) => _cache?.Store(tag, iova, 0, 1UL << SpanShift, PageTables.IommuProt.None);
    /// <summary>Table pages under [iova, iova+size) changed (Linux: io-pgtable tlb_flush_walk).</summary>
    public void InvalidateVa(int tag, ulong iova, ulong size) => _cache?.InvalidateVa(tag, iova, size);
    public void InvalidateTag(int tag) => _cache?.InvalidateTag(tag);
    public void InvalidateAll() => _cache?.InvalidateAll();
}
