using System.Runtime.CompilerServices;
using DmaLab.Iommu.PageTables;
using DmaLab.Sim;

namespace DmaLab.Iommu.Hardware;

/// <summary>
/// The device-side translation of one IOMMU instance: per port (stream) a cached configuration, an IOTLB and a
/// walk cache. A device access by IOVA hits the IOTLB or walks the tables in simulated memory through
/// <see cref="IIoPgtable.Walk"/>, charging virtual time from the <see cref="CostModel"/>. Entries stay usable until
/// the driver invalidates them (stale translations are real, and counted: <see cref="Stale"/>). Hit path is
/// allocation-free.
/// </summary>
public sealed class TranslationUnit
{
    struct Port
    {
        public uint StreamId;
        public bool Cached;
        public StreamConfig Config;
    }

    Port[] _ports = new Port[8];
    int _portCount;
    readonly CostModel _costs;
    readonly SimClock _clock;

    public TranslationUnit(string name, IotlbGeometry geometry, CostModel costs, SimClock clock, ulong seed)
    {
        geometry.Validate(name);
        Name = name;
        Geometry = geometry;
        _costs = costs;
        _clock = clock;
        Iotlb = new Iotlb(geometry.Entries, geometry.Ways, geometry.Replacement, Rng.For(seed, name + "/iotlb").NextU64());
        WalkCache = new WalkCache(geometry.WalkCacheEntries, Rng.For(seed, name + "/walk").NextU64());
    }

    public string Name { get; }
    public IotlbGeometry Geometry { get; }
    public Iotlb Iotlb { get; }
    public WalkCache WalkCache { get; }
    public ITranslationOwner? Owner { get; set; }
    public SimClock Clock => _clock;
    public long Translations, Walks, DescriptorReads, FaultCount, ConfigFetches;
    /// <summary>Stale-translation hits: accesses the IOTLB served from an entry the page table no longer backs.</summary>
    public StaleTranslationLog Stale { get; } = new();

    /// <summary>
    /// The driver cleared [<paramref name="iova"/>, +<paramref name="size"/>) from the page table tagged
    /// <paramref name="tag"/> (Linux: iommu_unmap() → io-pgtable unmap_pages). Nothing happens to the caches (only
    /// invalidation commands do that); the model notes it so an IOTLB hit on an entry older than this unmap is checked
    /// against the tables once, and a stale one counted with its window.
    /// </summary>
    public void NoteUnmap(int tag, ulong iova, ulong size)
    {
        if (size == 0) return;
        Iotlb.BumpGeneration();
        Stale.RecordUnmap(tag, iova, size, _clock.NowNs);
    }

    /// <summary>Adds an input port for a stream ID (done by the driver at probe); returns the port number.</summary>
    public int AddPort(uint streamId)
    {
        if (_portCount == _ports.Length) Array.Resize(ref _ports, _ports.Length * 2);
        _ports[_portCount] = new Port { StreamId = streamId };
        return _portCount++;
    }

    public int PortCount => _portCount;
    public uint StreamIdOf(int port) => _ports[port].StreamId;

    /// <summary>Drops the cached configuration of one stream (SMMUv3 CFGI_STE, VT-d context-cache device invalidation).</summary>
    public void InvalidateStream(int port) => _ports[port].Cached = false;

    /// <summary>Drops the cached configuration of every port carrying a stream ID.</summary>
    public void InvalidateStreamId(uint streamId)
    {
        for (int i = 0; i < _portCount; i++) if (_ports[i].StreamId == streamId) _ports[i].Cached = false;
    }

    /// <summary>Drops every cached configuration (CFGI_ALL, global context-cache invalidation).</summary>
    public void InvalidateAllStreams()
    {
        for (int i = 0; i < _portCount; i++) _ports[i].Cached = false;
    }

    /// <summary>The configuration the hardware currently uses for a port (fetching it if not cached).</summary>
    public ref readonly StreamConfig ConfigOf(int port)
    {
        ref var p = ref _ports[port];
        if (!p.Cached) Fetch(ref p, port);
        return ref p.Config;
    }

    void Fetch(ref Port p, int port)
    {
        ConfigFetches++;
        p.Config = Owner?.FetchConfig(port, p.StreamId) ?? default;
        p.Cached = true;
    }

    /// <summary>
    /// Translates one access. Returns false (and records a fault through the owner) when the access aborts;
    /// <paramref name="phys"/> is then 0. A stale-translation hit counts up to the end of the 4 KiB page.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Translate(int port, ulong iova, bool write, out ulong phys) => TranslateAccess(port, iova, 0, write, out phys);

    /// <summary>
    /// Translates one access of <paramref name="bytes"/> bytes (0 = to the end of the 4 KiB page) starting at
    /// <paramref name="iova"/>; as <see cref="Translate"/>, with the length counted if the hit turns out stale.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TranslateAccess(int port, ulong iova, ulong bytes, bool write, out ulong phys)
    {
        Translations++;
        ref var p = ref _ports[port];
        if (!p.Cached) Fetch(ref p, port);
        ref readonly var cfg = ref p.Config;
        if (cfg.Mode == StreamMode.Translate)
        {
            var tlb = Iotlb;
            ref var e = ref tlb.LookupEntry(cfg.Tag, iova, true);
            if (!Unsafe.IsNullRef(ref e) && (e.Prot & (write ? IommuProt.Write : IommuProt.Read)) != 0)
            {
                phys = e.Phys + (iova - e.Iova);
                // Tables changed since the entry was filled or last checked: the model looks (hardware would not).
                if (e.Generation != tlb.Generation) CheckStale(ref e, in cfg, iova, phys, bytes);
                _clock.Advance(_costs.IotlbHitNs);
                return true;
            }
        }
        return TranslateSlow(port, in cfg, iova, write, out phys);
    }

    /// <summary>
    /// Model-only check of an IOTLB hit against the descriptors in memory (no cost charged, no statistics touched):
    /// still the same translation → the entry is stamped current and later hits are fast again; gone or different →
    /// a stale-translation hit.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    void CheckStale(ref IotlbEntry e, in StreamConfig cfg, ulong iova, ulong phys, ulong bytes)
    {
        if (cfg.Table is null) return;
        var w = cfg.Table.Walk(iova);
        if (w.Ok && w.Phys == phys && w.Prot == e.Prot)
        {
            e.Generation = Iotlb.Generation;
            return;
        }
        if (bytes == 0) bytes = 4096 - (iova & 4095);
        Stale.RecordHit(cfg.Tag, iova, bytes, _clock.NowNs);
    }

    bool TranslateSlow(int port, in StreamConfig cfg, ulong iova, bool write, out ulong phys)
    {
        phys = 0;
        switch (cfg.Mode)
        {
            case StreamMode.Bypass:
                phys = iova;
                return true;
            case StreamMode.Invalid:
                return Fault(port, in cfg, iova, write, IommuFaultReason.BadConfig);
            case StreamMode.Abort:
                return Fault(port, in cfg, iova, write, IommuFaultReason.Abort);
        }
        // an IOTLB hit that failed the permission check lands here too: the cached permission decides
        if (Iotlb.Lookup(cfg.Tag, iova, false, out _, out var cachedProt))
            return Fault(port, in cfg, iova, write, IommuFaultReason.Permission);
        if (cfg.Table is null) return Fault(port, in cfg, iova, write, IommuFaultReason.BadConfig);

        Walks++;
        var walk = cfg.Table.Walk(iova);
        DescriptorReads += walk.DescriptorReads;
        ulong cost;
        if (walk.DescriptorReads > 1 && WalkCache.Lookup(cfg.Tag, iova))
            cost = _costs.WalkCacheHitNs + _costs.DramAccessNs;
        else
        {
            cost = (ulong)walk.DescriptorReads * _costs.DramAccessNs;
            if (walk.Ok && walk.DescriptorReads > 1) WalkCache.Store(cfg.Tag, iova);
        }
        _clock.Advance(cost);
        if (!walk.Ok)
        {
            var reason = walk.Fault switch
            {
                WalkFault.AddressSize => IommuFaultReason.AddressSize,
                WalkFault.External => IommuFaultReason.External,
                _ => IommuFaultReason.Translation,
            };
            return Fault(port, in cfg, iova, write, reason);
        }
        Iotlb.Store(cfg.Tag, iova, walk.Phys, walk.PageSize, walk.Prot);
        if ((walk.Prot & (write ? IommuProt.Write : IommuProt.Read)) == 0)
            return Fault(port, in cfg, iova, write, IommuFaultReason.Permission);
        phys = walk.Phys;
        return true;
    }

    bool Fault(int port, in StreamConfig cfg, ulong iova, bool write, IommuFaultReason reason)
    {
        FaultCount++;
        Owner?.RecordFault(port, _ports[port].StreamId, in cfg, iova, write, reason);
        return false;
    }
}
