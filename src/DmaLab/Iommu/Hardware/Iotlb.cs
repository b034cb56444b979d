using System.Numerics;
using System.Runtime.CompilerServices;
using DmaLab.Iommu.PageTables;
using DmaLab.Sim;

namespace DmaLab.Iommu.Hardware;

/// <summary>
/// A set-associative translation cache, the same shape as the gem5/QEMU SMMU models: lookup (counted or not),
/// store, and one invalidation per scope (by VA range within a tag, by tag = ASID/domain, all). Entries of
/// different page sizes coexist; a lookup probes the set of each page size currently cached. Arrays of structs,
/// no allocation after construction.
/// </summary>
public sealed class Iotlb
{
    readonly IotlbEntry[] _entries;
    readonly int _ways;
    readonly int _setMask;
    readonly IotlbReplacement _replacement;
    readonly Rng _rng;
    ulong _useCounter;
    /// <summary>Bit s set = some valid entry may have page shift s (cleared only by InvalidateAll).</summary>
    ulong _shifts;
    public IotlbStats Stats;

    public Iotlb(int entries, int ways, IotlbReplacement replacement, ulong seed)
    {
        new IotlbGeometry(entries, ways, replacement, 0, "").Validate("IOTLB");
        _entries = new IotlbEntry[entries];
        _ways = ways;
        _setMask = entries / ways - 1;
        _replacement = replacement;
        _rng = new Rng(seed);
    }

    public int Capacity => _entries.Length;
    public int Ways => _ways;

    public int ValidEntries
    {
        get { int n = 0; foreach (ref readonly var e in _entries.AsSpan()) if (e.Valid) n++; return n; }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int SetBase(ulong iova, int shift) => (int)((iova >> shift) & (ulong)_setMask) * _ways;

    /// <summary>Looks up (tag, iova). <paramref name="count"/> = false probes without touching statistics or LRU state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Lookup(int tag, ulong iova, bool count, out ulong phys, out IommuProt prot)
    {
        ref var e = ref LookupEntry(tag, iova, count);
        if (!Unsafe.IsNullRef(ref e))
        {
            phys = e.Phys + (iova - e.Iova);
            prot = e.Prot;
            return true;
        }
        phys = 0;
        prot = IommuProt.None;
        return false;
    }

    /// <summary>As <see cref="Lookup"/>, returning the hit entry itself, or a null reference on a miss
    /// (<see cref="Unsafe.IsNullRef{T}(ref readonly T)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref IotlbEntry LookupEntry(int tag, ulong iova, bool count)
    {
        ulong shifts = _shifts;
        var entries = _entries;
        while (shifts != 0)
        {
            int s = BitOperations.TrailingZeroCount(shifts);
            shifts &= shifts - 1;
            ulong page = iova >> s << s;
            int b = SetBase(iova, s);
            for (int w = 0; w < _ways; w++)
            {
                ref var e = ref entries[b + w];
                if (e.Valid && e.Iova == page && e.Tag == tag && e.PageShift == s)
                {
                    if (count) { Stats.Lookups++; Stats.Hits++; e.LastUse = ++_useCounter; }
                    return ref e;
                }
            }
        }
        if (count) { Stats.Lookups++; Stats.Misses++; }
        return ref Unsafe.NullRef<IotlbEntry>();
    }

    /// <summary>
    /// Model-only generation of the tables behind this cache: bumped whenever a page table this cache serves lost a
    /// translation (<see cref="BumpGeneration"/>); new entries are stamped with it. An entry stamped with an older
    /// generation may be stale (its translation unmapped but not yet invalidated) and is checked against the tables
    /// on its next hit.
    /// </summary>
    public uint Generation => _generation;
    uint _generation;

    /// <summary>A page table this cache serves lost translations (iommu_unmap cleared descriptors).</summary>
    public void BumpGeneration() => _generation++;

    /// <summary>Fills an entry for the page of <paramref name="pageSize"/> containing iova → phys.</summary>
    public void Store(int tag, ulong iova, ulong phys, ulong pageSize, IommuProt prot)
    {
        int s = BitOperations.TrailingZeroCount(pageSize);
        ulong page = iova >> s << s;
        int b = SetBase(iova, s);
        int victim = -1;
        for (int w = 0; w < _ways; w++)
        {
            ref var e = ref _entries[b + w];
            if (e.Valid && e.Iova == page && e.Tag == tag && e.PageShift == s) { victim = b + w; break; }
            if (!e.Valid && victim < 0) victim = b + w;
        }
        if (victim < 0)
        {
            if (_replacement == IotlbReplacement.Random) victim = b + (int)_rng.Next((ulong)_ways);
            else
            {
                victim = b;
                for (int w = 1; w < _ways; w++)
                    if (_entries[b + w].LastUse < _entries[victim].LastUse) victim = b + w;
            }
            Stats.Evictions++;
        }
        ref var v = ref _entries[victim];
        v.Iova = page;
        v.Phys = (phys - (iova - page));
        v.Tag = tag;
        v.PageShift = (byte)s;
        v.Prot = prot;
        v.Valid = true;
        v.LastUse = ++_useCounter;
        v.Generation = _generation;
        _shifts |= 1UL << s;
        Stats.Fills++;
    }

    /// <summary>Invalidates the entries of <paramref name="tag"/> that overlap [iova, iova+size) (SMMU TLBI_NH_VA, VT-d PSI, AMD INVALIDATE_IOMMU_PAGES).</summary>
    public int InvalidateVa(int tag, ulong iova, ulong size)
    {
        Stats.InvalidationOps++;
        if (size == 0) return 0;
        ulong last = iova + size - 1;
        int n = 0;
        ulong shifts = _shifts;
        while (shifts != 0)
        {
            int s = BitOperations.TrailingZeroCount(shifts);
            shifts &= shifts - 1;
            ulong first = iova >> s, lastPage = last >> s;
            if (lastPage - first >= (ulong)_setMask) { n += Scan(tag, iova, last, s); continue; }
            for (ulong p = first; p <= lastPage; p++)
            {
                int b = SetBase(p << s, s);
                for (int w = 0; w < _ways; w++)
                {
                    ref var e = ref _entries[b + w];
                    if (e.Valid && e.Tag == tag && e.PageShift == s && e.Iova == p << s) { e.Valid = false; n++; }
                }
            }
        }
        Stats.EntriesInvalidated += n;
        return n;
    }

    int Scan(int tag, ulong iova, ulong last, int shift)
    {
        int n = 0;
        foreach (ref var e in _entries.AsSpan())
        {
            if (!e.Valid || e.Tag != tag || e.PageShift != shift) continue;
            ulong eLast = e.Iova + (1UL << shift) - 1;
            if (e.Iova <= last && eLast >= iova) { e.Valid = false; n++; }
        }
        return n;
    }

    /// <summary>Invalidates every entry of a tag (SMMU TLBI_NH_ASID / TLBIALL on a context bank, VT-d DSI, AMD all-pages of a domain).</summary>
    public int InvalidateTag(int tag)
    {
        Stats.InvalidationOps++;
        int n = 0;
        foreach (ref var e in _entries.AsSpan())
            if (e.Valid && e.Tag == tag) { e.Valid = false; n++; }
        Stats.EntriesInvalidated += n;
        return n;
    }

    /// <summary>Invalidates everything (SMMU TLBI_NSNH_ALL, VT-d global invalidation).</summary>
    public int InvalidateAll()
    {
        Stats.InvalidationOps++;
        int n = 0;
        foreach (ref var e in _entries.AsSpan())
            if (e.Valid) { e.Valid = false; n++; }
        _shifts = 0;
        Stats.EntriesInvalidated += n;
        return n;
    }
}
