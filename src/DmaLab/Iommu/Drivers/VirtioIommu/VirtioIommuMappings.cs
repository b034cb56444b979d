using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Iommu.Drivers.VirtioIommu;

/// <summary>
/// A virtio-iommu mapping tree: disjoint [start, end] IOVA intervals to physical addresses with MAP flags. The driver
/// keeps one per domain (Linux: drivers/iommu/virtio-iommu.c, viommu_domain->mappings, viommu_add_mapping(),
/// viommu_del_mappings()) and the device keeps its own, changed only by MAP/UNMAP requests; there are no page tables
/// in guest memory, so <see cref="Root"/> is 0 and a walk reads no descriptors. Behind <see cref="IIoPgtable"/> so the
/// core and the translation unit use it like any table.
/// </summary>
public sealed class VirtioIommuMappings(IoPgtableConfig config) : IIoPgtable
{
    readonly SortedList<ulong, (ulong End, ulong Phys, IommuProt Prot)> _map = new();

    public IoPgtableFormat Format => IoPgtableFormat.VirtioIommu;
    public IoPgtableConfig Config { get; } = config;
    public PhysAddr Root => new(0);
    public long TablePages => 0;
    public int Count => _map.Count;

    /// <summary>viommu_add_mapping(): one interval; -EEXIST when it meets a live one (the device answers S_INVAL).</summary>
    public int Add(ulong start, ulong end, ulong phys, IommuProt prot)
    {
        if (end < start) return -Errno.EINVAL;
        if (Overlaps(start, end)) return -Errno.EEXIST;
        _map.Add(start, (end, phys, prot));
        return 0;
    }

    /// <summary>viommu_del_mappings(): removes every interval starting inside [start, end]; an interval that starts
    /// before <paramref name="start"/> and reaches into the range is not split (the spec forbids splitting a mapping)
    /// and stays. Returns the bytes removed.</summary>
    public ulong Remove(ulong start, ulong end)
    {
        ulong removed = 0;
        int i = LowerBound(start);
        while (i < _map.Count && _map.Keys[i] <= end)
        {
            var v = _map.Values[i];
            removed += v.End - _map.Keys[i] + 1;
            _map.RemoveAt(i);
        }
        return removed;
    }

    public bool Lookup(ulong iova, out ulong phys, out IommuProt prot, out ulong start, out ulong end)
    {
        int i = LowerBound(iova + 1) - 1;
        if (i >= 0 && _map.Values[i].End >= iova)
        {
            var v = _map.Values[i];
            start = _map.Keys[i];
            end = v.End;
            phys = v.Phys + (iova - start);
            prot = v.Prot;
            return true;
        }
        phys = start = end = 0;
        prot = IommuProt.None;
        return false;
    }

    /// <summary>Every mapping, ascending (viommu_replay_mappings() resends them on a first attach).</summary>
    public IEnumerable<(ulong Start, ulong End, ulong Phys, IommuProt Prot)> All()
    {
        for (int i = 0; i < _map.Count; i++) yield return (_map.Keys[i], _map.Values[i].End, _map.Values[i].Phys, _map.Values[i].Prot);
    }

    bool Overlaps(ulong start, ulong end)
    {
        int i = LowerBound(start);
        if (i < _map.Count && _map.Keys[i] <= end) return true;
        return i > 0 && _map.Values[i - 1].End >= start;
    }

    int LowerBound(ulong key)
    {
        int lo = 0, hi = _map.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_map.Keys[mid] < key) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    public int MapPages(ulong iova, ulong paddr, ulong pgsize, ulong pgcount, IommuProt prot, out ulong mapped)
    {
        mapped = 0;
        if (pgsize == 0 || (pgsize & Config.PgsizeBitmap) == 0) return -Errno.EINVAL;
        ulong size = pgsize * pgcount;
        int ret = Add(iova, iova + size - 1, paddr, prot);
        if (ret == 0) mapped = size;
        return ret;
    }

    public ulong UnmapPages(ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather)
    {
        ulong size = pgsize * pgcount;
        ulong n = Remove(iova, iova + size - 1);
        if (n < size) return 0; // viommu_unmap_pages(): a partial unmap reports nothing unmapped
        gather.AddRange(iova, n);
        return n;
    }

    public ulong IovaToPhys(ulong iova) => Lookup(iova, out ulong p, out _, out _, out _) ? p : 0;

    public WalkResult Walk(ulong iova)
    {
        if (!Lookup(iova, out ulong phys, out var prot, out _, out _)) return WalkResult.Translation(0);
        // The device translates granule by granule (a mapping is a whole number of granules).
        ulong granule = Config.PgsizeBitmap & (~Config.PgsizeBitmap + 1);
        return new WalkResult(true, phys, granule, prot, 0, WalkFault.None);
    }

    public void Free() => _map.Clear();
}
