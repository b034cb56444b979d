using DmaLab.Trace;

namespace DmaLab.Replay;

public sealed partial class TraceReplayer
{
    /// <summary>An iommu:map waiting for the dma:* event of the same task and CPU that caused it.</summary>
    struct PendingIommuMap
    {
        public ulong Iova, Paddr, Size;
        public long Line;
    }

    sealed class IommuContext
    {
        public readonly List<PendingIommuMap> Maps = new();
        public int Unmaps;
        public ulong UnmapBytes;
    }

    readonly Dictionary<long, IommuContext> _iommuCtx = new();
    readonly List<UnpairedIommuMap> _unpaired = new();
    long _unpairedCount;
    long _iommuMaps, _iommuUnmaps;
    long _pairedIommuMaps;
    // A dma:* mapping at the top page below 4 GiB: no IOMMU-layer MSI doorbell page took it (see InferPlatform).
    bool _pairedTopPage;

    // The context of an iommu:map is the task, CPU and interrupt level: an interrupt traced with the task's pid runs
    // its own DMA-API calls and must not take the task's pending maps.
    static long CtxKey(TraceRecord r) => ((long)r.Pid << 20) ^ ((long)r.IrqLevel << 16) ^ (uint)r.Cpu;

    int PendingIommuMaps(TraceRecord r) =>
        _iommuMaps != 0 && _iommuCtx.TryGetValue(CtxKey(r), out var c) ? c.Maps.Count : 0;

    IommuContext Ctx(TraceRecord r)
    {
        long k = CtxKey(r);
        if (!_iommuCtx.TryGetValue(k, out var c)) _iommuCtx.Add(k, c = new IommuContext());
        return c;
    }

    // iommu:map and iommu:unmap carry no device (Linux: drivers/iommu/iommu.c, iommu_map()/iommu_unmap() trace the
    // domain-level call). iommu-dma makes them inside the dma_map_*/dma_unmap_* call that is traced right after, on
    // the same task and CPU, so they are attributed to that call's device.
    void OnIommuMap(TraceRecord r)
    {
        _iommuMaps++;
        Ctx(r).Maps.Add(new PendingIommuMap { Iova = r.DmaAddr, Paddr = r.PhysAddr, Size = r.Size, Line = r.Line });
    }

    void OnIommuUnmap(TraceRecord r)
    {
        _iommuUnmaps++;
        var c = Ctx(r);
        c.Unmaps++;
        c.UnmapBytes += r.UnmappedSize;
    }

    /// <summary>Attributes pending iommu:map events of this context whose IOVA range meets [dma, dma+size) to the
    /// device; the others (e.g. an MSI doorbell page mapped by the IOMMU layer itself) are recorded as unpaired.
    /// True when at least one map was paired.</summary>
    bool PairIommu(TraceRecord r, ReplayDeviceStats d, ulong dma, ulong size)
    {
        if (_iommuMaps == 0) return false;
        if (!_iommuCtx.TryGetValue(CtxKey(r), out var c) || c.Maps.Count == 0) return false;
        ulong lo = dma & ~0xFFFUL, hi = dma + Math.Max(size, 1);
        bool paired = false;
        foreach (var m in c.Maps)
        {
            bool meets = m.Iova < hi && m.Iova + Math.Max(m.Size, 1) > lo;
            if (!meets && r.Kind == TraceEventKind.DmaMapSg)
            {
                var list = r.DmaAddrs;
                var lens = r.Lengths;
                for (int i = 0; i < list.Length && !meets; i++)
                {
                    ulong l = list[i] & ~0xFFFUL, h = list[i] + (i < lens.Length ? Math.Max(lens[i], 1) : 1);
                    meets = m.Iova < h && m.Iova + Math.Max(m.Size, 1) > l;
                }
                // A truncated sg list does not show every IOVA: attribute the rest to it too.
                meets |= r.Truncated;
            }
            if (meets)
            {
                paired = true;
                _pairedIommuMaps++;
                if (m.Iova == 0xffff_f000UL) _pairedTopPage = true;
                d.IommuMaps++;
                d.IommuMappedBytes += m.Size;
            }
            else AddUnpaired(m);
        }
        c.Maps.Clear();
        return paired;
    }

    void AddUnpaired(in PendingIommuMap m)
    {
        _unpairedCount++;
        if (_unpaired.Count < 20) _unpaired.Add(new UnpairedIommuMap(m.Line, m.Iova, m.Paddr, m.Size));
    }

    void UnpairIommu(TraceRecord r, ReplayDeviceStats d)
    {
        if (_iommuUnmaps == 0) return;
        if (!_iommuCtx.TryGetValue(CtxKey(r), out var c) || c.Unmaps == 0) return;
        d.IommuUnmaps += c.Unmaps;
        c.Unmaps = 0;
        c.UnmapBytes = 0;
    }

    void FlushPendingIommu()
    {
        foreach (var c in _iommuCtx.Values)
        {
            foreach (var m in c.Maps) AddUnpaired(m);
            c.Maps.Clear();
        }
    }
}
