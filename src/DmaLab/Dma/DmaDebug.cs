using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>
/// DMA-API debugging (Linux: kernel/dma/debug.c). Every mapping and coherent allocation is recorded in a hash of
/// entries keyed by bus address (HASH_FN_SHIFT 13, 16384 buckets, best-fit matching as __hash_bucket_find does);
/// every unmap, free and sync is checked against it, and every violation becomes a <see cref="Finding"/> worded as
/// the kernel's err_printk ("DMA-API: &lt;device&gt;: device driver ..."). Entries live in a struct array with an
/// index free list, so recording allocates nothing once warmed up. Also the active-cacheline tracking (EEXIST:
/// two device-writable mappings sharing a cache line).
/// </summary>
public sealed class DmaDebug
{
    const int HashSize = 16384;
    const int HashFnShift = 13;
    const int CachelineShift = 6;         // L1_CACHE_SHIFT on arm64 / x86_64
    /// <summary>ACTIVE_CACHELINE_MAX_OVERLAP: (1 &lt;&lt; RADIX_TREE_MAX_TAGS) - 1.</summary>
    public const int ActiveCachelineMaxOverlap = 7;

    /// <summary>dma_debug_single / _sg / _coherent / _resource.</summary>
    public enum EntryType : byte { Single = 0, Sg = 1, Coherent = 2, Resource = 3 }
    enum MapErr : byte { NotApplicable, NotChecked, Checked }

    struct Entry
    {
        public Device? Dev;
        public ulong DevAddr, Size, Pfn, Offset;
        public EntryType Type;
        public DmaDirection Dir;
        public int SgCallEnts, SgMappedEnts;
        public MapErr MapErr;
        public int Next;         // bucket chain / free list
    }

    readonly int[] _buckets = new int[HashSize];
    Entry[] _entries = new Entry[256];
    int _free = -1, _used;
    readonly Dictionary<ulong, int> _activeCachelines = new();   // cacheline number → overlap count (0 = one mapping)
    readonly List<Finding> _findings = new();

    public DmaDebug() { Array.Fill(_buckets, -1); }

    public bool Enabled { get; set; } = true;
    public int ActiveEntries { get; private set; }
    /// <summary>error_count</summary>
    public int ErrorCount { get; private set; }
    public IReadOnlyList<Finding> Findings => _findings;
    public List<Finding> TakeFindings() { var r = new List<Finding>(_findings); _findings.Clear(); return r; }

    static string TypeName(EntryType t) => t switch
    {
        EntryType.Single => "single",
        EntryType.Sg => "scather-gather",       // sic: the kernel's type2name[] spelling
        EntryType.Coherent => "coherent",
        _ => "resource",
    };

    static string DirName(DmaDirection d) => "DMA_" + d.ToKernelString();

    void Err(string kind, Device dev, ulong addr, string text)
    {
        ErrorCount++;
        _findings.Add(new Finding(kind, dev.Name, addr, $"DMA-API: {dev.Name}: {text}"));
    }

    static int Hash(ulong devAddr) => (int)((devAddr >> HashFnShift) & (HashSize - 1));

    int AllocEntry()
    {
        int i;
        if (_free >= 0) { i = _free; _free = _entries[i].Next; }
        else
        {
            if (_used == _entries.Length) Array.Resize(ref _entries, _entries.Length * 2);
            i = _used++;
        }
        _entries[i] = default;
        return i;
    }

    void Add(int i, DmaAttrs attrs)
    {
        ref var e = ref _entries[i];
        int b = Hash(e.DevAddr);
        // list_add_tail: append to keep the kernel's bucket order (best fit picks the first of equals).
        e.Next = -1;
        if (_buckets[b] < 0) _buckets[b] = i;
        else { int t = _buckets[b]; while (_entries[t].Next >= 0) t = _entries[t].Next; _entries[t].Next = i; }
        ActiveEntries++;
        // active_cacheline_insert(): device-readonly mappings cannot make the CPU see stale data, so they are exempt.
        if (e.Dir == DmaDirection.ToDevice) return;
        ulong cln = (e.Pfn << (PhysAddr.PageShift - CachelineShift)) + (e.Offset >> CachelineShift);
        if (_activeCachelines.TryGetValue(cln, out int overlap))
        {
            _activeCachelines[cln] = overlap + 1;
            if ((attrs & DmaAttrs.SkipCpuSync) == 0)
                Err("cacheline-overlap", e.Dev!, e.DevAddr, "cacheline tracking EEXIST, overlapping mappings aren't supported");
        }
        else _activeCachelines[cln] = 0;
    }

    void Remove(int b, int prev, int i)
    {
        ref var e = ref _entries[i];
        if (prev < 0) _buckets[b] = e.Next; else _entries[prev].Next = e.Next;
        if (e.Dir != DmaDirection.ToDevice)
        {
            ulong cln = (e.Pfn << (PhysAddr.PageShift - CachelineShift)) + (e.Offset >> CachelineShift);
            if (_activeCachelines.TryGetValue(cln, out int ov))
            {
                if (ov <= 0) _activeCachelines.Remove(cln); else _activeCachelines[cln] = ov - 1;
            }
        }
        e.Dev = null;
        e.Next = _free;
        _free = i;
        ActiveEntries--;
    }

    /// <summary>__hash_bucket_find(): exact (same device and address) or containing match, best fit; with several
    /// matches and no perfect fit, none.</summary>
    int Find(int b, Device dev, ulong devAddr, ulong size, EntryType type, DmaDirection dir, int sgCallEnts, bool containing, out int prevOut)
    {
        int ret = -1, retPrev = -1, matches = 0, lastLvl = -1, prev = -1;
        for (int i = _buckets[b]; i >= 0; prev = i, i = _entries[i].Next)
        {
            ref var e = ref _entries[i];
            if (e.Dev != dev) continue;
            bool match = containing ? e.DevAddr <= devAddr && e.DevAddr + e.Size >= devAddr + size : e.DevAddr == devAddr;
            if (!match) continue;
            matches++;
            int lvl = (e.Size == size ? 1 : 0) + (e.Type == type ? 1 : 0) + (e.Dir == dir ? 1 : 0) + (e.SgCallEnts == sgCallEnts ? 1 : 0);
            if (lvl == 4) { prevOut = prev; return i; }
            if (lvl > lastLvl) { lastLvl = lvl; ret = i; retPrev = prev; }
        }
        prevOut = retPrev;
        return matches == 1 ? ret : -1;
    }

    // ---------------------------------------------------------------- map side

    /// <summary>debug_dma_map_phys / debug_dma_map_page (and _resource with <paramref name="type"/> Resource).</summary>
    public void MapPage(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAddr dma, DmaAttrs attrs, EntryType type = EntryType.Single)
    {
        if (!Enabled || dma.IsError) return;
        int i = AllocEntry();
        ref var e = ref _entries[i];
        e.Dev = dev; e.Type = type; e.Pfn = phys.Pfn.Value; e.Offset = phys.PageOffset;
        e.DevAddr = dma.Value; e.Size = size; e.Dir = dir; e.MapErr = MapErr.NotChecked;
        Add(i, attrs);
    }

    /// <summary>debug_dma_mapping_error(): marks the first unchecked exact match as checked.</summary>
    public void MappingErrorChecked(Device dev, DmaAddr dma)
    {
        if (!Enabled) return;
        for (int i = _buckets[Hash(dma.Value)]; i >= 0; i = _entries[i].Next)
        {
            ref var e = ref _entries[i];
            if (e.Dev != dev || e.DevAddr != dma.Value) continue;
            if (e.MapErr == MapErr.NotChecked) { e.MapErr = MapErr.Checked; break; }
        }
    }

    /// <summary>debug_dma_map_sg(): one entry per mapped segment.</summary>
    public void MapSg(Device dev, Scatterlist sg, int nents, int mappedEnts, DmaDirection dir, DmaAttrs attrs)
    {
        if (!Enabled) return;
        for (int k = 0; k < mappedEnts; k++)
        {
            ref var s = ref sg[k];
            int i = AllocEntry();
            ref var e = ref _entries[i];
            e.Dev = dev; e.Type = EntryType.Sg; e.Pfn = s.Page.Pfn.Value; e.Offset = s.Offset;
            e.Size = s.DmaLength; e.DevAddr = s.DmaAddress.Value; e.Dir = dir;
            e.SgCallEnts = nents; e.SgMappedEnts = mappedEnts;
            Add(i, attrs);
        }
    }

    /// <summary>debug_dma_alloc_coherent()</summary>
    public void AllocCoherent(Device dev, ulong size, DmaAddr dma, PhysAddr phys, DmaAttrs attrs)
    {
        if (!Enabled) return;
        int i = AllocEntry();
        ref var e = ref _entries[i];
        e.Dev = dev; e.Type = EntryType.Coherent; e.Offset = phys.PageOffset; e.Pfn = phys.Pfn.Value;
        e.Size = size; e.DevAddr = dma.Value; e.Dir = DmaDirection.Bidirectional;
        Add(i, attrs);
    }

    // ---------------------------------------------------------------- unmap side (check_unmap)

    void CheckUnmap(Device dev, ulong devAddr, ulong size, EntryType type, DmaDirection dir, int sgCallEnts, PhysAddr phys)
    {
        int b = Hash(devAddr);
        int i = Find(b, dev, devAddr, size, type, dir, sgCallEnts, false, out int prev);
        if (i < 0)
        {
            if (devAddr == DmaAddr.MappingError.Value)
                Err("unmap-invalid-address", dev, devAddr, "device driver tries to free an invalid DMA memory address");
            else
                Err("unmap-of-unmapped", dev, devAddr, $"device driver tries to free DMA memory it has not allocated [device address=0x{devAddr:x16}] [size={size} bytes]");
            return;
        }
        ref var e = ref _entries[i];
        if (size != e.Size)
            Err(type == EntryType.Coherent ? "free-coherent-size-mismatch" : "unmap-size-mismatch", dev, devAddr,
                $"device driver frees DMA memory with different size [device address=0x{devAddr:x16}] [map size={e.Size} bytes] [unmap size={size} bytes]");
        if (type != e.Type)
            Err("unmap-type-mismatch", dev, devAddr,
                $"device driver frees DMA memory with wrong function [device address=0x{devAddr:x16}] [size={size} bytes] [mapped as {TypeName(e.Type)}] [unmapped as {TypeName(type)}]");
        else if (e.Type == EntryType.Coherent && ((e.Pfn << PhysAddr.PageShift) + e.Offset) != phys.Value)
            Err("free-cpu-address-mismatch", dev, devAddr,
                $"device driver frees DMA memory with different CPU address [device address=0x{devAddr:x16}] [size={size} bytes] [cpu alloc address=0x{(e.Pfn << PhysAddr.PageShift) + e.Offset:x16}] [cpu free address=0x{phys.Value:x16}]");
        if (sgCallEnts != 0 && type == EntryType.Sg && sgCallEnts != e.SgCallEnts)
            Err("unmap-sg-nents-mismatch", dev, devAddr,
                $"device driver frees DMA sg list with different entry count [map count={e.SgCallEnts}] [unmap count={sgCallEnts}]");
        if (dir != e.Dir)
            Err("unmap-direction-mismatch", dev, devAddr,
                $"device driver frees DMA memory with different direction [device address=0x{devAddr:x16}] [size={size} bytes] [mapped with {DirName(e.Dir)}] [unmapped with {DirName(dir)}]");
        if (e.MapErr == MapErr.NotChecked)
            Err("map-error-not-checked", dev, devAddr,
                $"device driver failed to check map error[device address=0x{devAddr:x16}] [size={size} bytes] [mapped as {TypeName(e.Type)}]");
        Remove(b, prev, i);
    }

    /// <summary>debug_dma_unmap_phys / _page (type single) or _resource.</summary>
    public void UnmapPage(Device dev, DmaAddr dma, ulong size, DmaDirection dir, EntryType type = EntryType.Single)
    {
        if (!Enabled) return;
        CheckUnmap(dev, dma.Value, size, type, dir, 0, default);
    }

    /// <summary>debug_dma_unmap_sg(): checks up to the mapped count recorded at map time.</summary>
    public void UnmapSg(Device dev, Scatterlist sg, int nelems, DmaDirection dir)
    {
        if (!Enabled) return;
        int mapped = 0;
        for (int k = 0; k < nelems; k++)
        {
            ref var s = ref sg[k];
            if (mapped != 0 && k >= mapped) break;
            if (k == 0)
            {
                int i = Find(Hash(s.DmaAddress.Value), dev, s.DmaAddress.Value, s.DmaLength, EntryType.Sg, dir, nelems, false, out _);
                mapped = i >= 0 ? _entries[i].SgMappedEnts : 0;
            }
            CheckUnmap(dev, s.DmaAddress.Value, s.DmaLength, EntryType.Sg, dir, nelems, default);
        }
    }

    /// <summary>debug_dma_free_coherent()</summary>
    public void FreeCoherent(Device dev, ulong size, PhysAddr phys, DmaAddr dma)
    {
        if (!Enabled) return;
        CheckUnmap(dev, dma.Value, size, EntryType.Coherent, DmaDirection.Bidirectional, 0, phys);
    }

    // ---------------------------------------------------------------- sync side (check_sync)

    void CheckSync(Device dev, ulong devAddr, ulong size, EntryType type, DmaDirection dir, int sgCallEnts, bool toCpu)
    {
        int i = -1;
        ulong probe = devAddr;
        int limit = (int)Math.Min((ulong)HashSize, (devAddr >> HashFnShift) + 1);
        for (int k = 0; k < limit && i < 0; k++, probe -= 1UL << HashFnShift)
            i = Find(Hash(probe), dev, devAddr, size, type, dir, sgCallEnts, true, out _);
        if (i < 0)
        {
            Err("sync-of-unmapped", dev, devAddr, $"device driver tries to sync DMA memory it has not allocated [device address=0x{devAddr:x16}] [size={size} bytes]");
            return;
        }
        ref var e = ref _entries[i];
        if (size > e.Size)
            Err("sync-out-of-range", dev, devAddr,
                $"device driver syncs DMA memory outside allocated range [device address=0x{e.DevAddr:x16}] [allocation size={e.Size} bytes] [sync offset+size={size}]");
        if (e.Dir == DmaDirection.Bidirectional) return;
        if (dir != e.Dir)
            Err("sync-direction-mismatch", dev, devAddr,
                $"device driver syncs DMA memory with different direction [device address=0x{devAddr:x16}] [size={e.Size} bytes] [mapped with {DirName(e.Dir)}] [synced with {DirName(dir)}]");
        if (toCpu && e.Dir != DmaDirection.FromDevice && dir != DmaDirection.ToDevice)
            Err("sync-read-only-for-cpu", dev, devAddr,
                $"device driver syncs device read-only DMA memory for cpu [device address=0x{devAddr:x16}] [size={e.Size} bytes] [mapped with {DirName(e.Dir)}] [synced with {DirName(dir)}]");
        if (!toCpu && e.Dir != DmaDirection.ToDevice && dir != DmaDirection.FromDevice)
            Err("sync-write-only-for-device", dev, devAddr,
                $"device driver syncs device write-only DMA memory to device [device address=0x{devAddr:x16}] [size={e.Size} bytes] [mapped with {DirName(e.Dir)}] [synced with {DirName(dir)}]");
        if (sgCallEnts != 0 && type == EntryType.Sg && sgCallEnts != e.SgCallEnts)
            Err("sync-sg-nents-mismatch", dev, devAddr,
                $"device driver syncs DMA sg list with different entry count [map count={e.SgCallEnts}] [sync count={sgCallEnts}]");
    }

    /// <summary>debug_dma_sync_single_for_cpu / _for_device</summary>
    public void SyncSingle(Device dev, DmaAddr dma, ulong size, DmaDirection dir, bool toCpu)
    {
        if (!Enabled) return;
        CheckSync(dev, dma.Value, size, EntryType.Single, dir, 0, toCpu);
    }

    /// <summary>debug_dma_sync_sg_for_cpu / _for_device</summary>
    public void SyncSg(Device dev, Scatterlist sg, int nelems, DmaDirection dir, bool toCpu)
    {
        if (!Enabled) return;
        int mapped = 0;
        for (int k = 0; k < nelems; k++)
        {
            ref var s = ref sg[k];
            if (k == 0)
            {
                int i = Find(Hash(s.DmaAddress.Value), dev, s.DmaAddress.Value, s.DmaLength, EntryType.Sg, dir, nelems, false, out _);
                mapped = i >= 0 ? _entries[i].SgMappedEnts : 0;
            }
            if (k >= mapped) break;
            CheckSync(dev, s.DmaAddress.Value, s.DmaLength, EntryType.Sg, dir, nelems, toCpu);
        }
    }

    /// <summary>BUS_NOTIFY_UNBOUND_DRIVER: mappings still held when a device's driver goes away are leaks.</summary>
    public void DeviceReleased(Device dev)
    {
        if (!Enabled) return;
        int count = 0, last = -1;
        for (int b = 0; b < HashSize; b++)
            for (int i = _buckets[b]; i >= 0; i = _entries[i].Next)
                if (_entries[i].Dev == dev) { count++; last = i; }
        if (count == 0) return;
        ref var e = ref _entries[last];
        Err("leaked-mappings", dev, e.DevAddr,
            $"device driver has pending DMA allocations while released from device [count={count}]\n" +
            $"One of leaked entries details: [device address=0x{e.DevAddr:x16}] [size={e.Size} bytes] [mapped with {DirName(e.Dir)}] [mapped as {TypeName(e.Type)}]");
    }

    /// <summary>Live entries of a device (debugfs dump), in hash order.</summary>
    public int CountFor(Device dev)
    {
        int n = 0;
        for (int b = 0; b < HashSize; b++)
            for (int i = _buckets[b]; i >= 0; i = _entries[i].Next)
                if (_entries[i].Dev == dev) n++;
        return n;
    }
}
