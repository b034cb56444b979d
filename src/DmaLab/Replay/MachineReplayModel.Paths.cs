using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Trace;

namespace DmaLab.Replay;

public sealed partial class MachineReplayModel
{
    /// <summary>
    /// The device's dma_map_ops, chosen at its first mapping call (Linux: kernel/dma/mapping.c uses dma-direct unless
    /// the device has ops; iommu_setup_dma_ops() gives iommu-dma to devices in a DMA default domain; dma-direct bounces
    /// through swiotlb when forced or the buffer is out of reach). As traced, the evidence is the call's context:
    /// iommu:map lines of its task right before it mean iommu-dma; a swiotlb_bounced of its buffer means swiotlb; a
    /// device in an IOMMU group whose address differs from the physical one is translated; an address equal to the
    /// physical one is dma-direct, a constant difference a dma-ranges offset. A coherent allocation with no iommu:map
    /// decides nothing for good (dma-direct serves it; a later map may still show translation).
    /// </summary>
    void ChoosePath(Dev d, in ReplayCall c, bool isAlloc)
    {
        if (d.Path is DmaPath.Direct or DmaPath.Swiotlb or DmaPath.Iommu) return;
        string name = d.Device.Name;
        DmaPath p;
        switch (_opt.Policy)
        {
            case ReplayPolicy.Passthrough:
                p = DmaPath.Direct;
                break;
            case ReplayPolicy.SwiotlbForce:
                p = DmaPath.Swiotlb;
                break;
            case ReplayPolicy.Strict:
            case ReplayPolicy.Lazy:
                if (IsIommuItself(name)) p = DmaPath.Direct;
                else if (_opt.IommuModel is not null) p = DmaPath.Iommu;
                else p = TracedPath(d, c, isAlloc);
                if (p == DmaPath.Swiotlb) p = DmaPath.Direct; // behind no IOMMU and not forced: dma-direct
                break;
            default:
                p = TracedPath(d, c, isAlloc);
                break;
        }
        d.Path = p;
        if (p != DmaPath.DirectTentative)
        {
            string key = p switch { DmaPath.Iommu => "iommu-dma", DmaPath.Swiotlb => "swiotlb", _ => d.Offset != 0 ? "dma-direct+offset" : "dma-direct" };
            _paths[key] = _paths.GetValueOrDefault(key) + 1;
        }
    }

    readonly SortedDictionary<string, int> _paths = new(StringComparer.Ordinal);

    DmaPath TracedPath(Dev d, in ReplayCall c, bool isAlloc)
    {
        if (c.IommuMaps > 0) return DmaPath.Iommu;
        if (c.Bounced) return DmaPath.Swiotlb;
        if (isAlloc || c.Kind == TraceEventKind.DmaMapSg) return c.InIommuGroup && !isAlloc ? DmaPath.Iommu : DmaPath.DirectTentative;
        ulong dma = c.TraceDmaAddr.Value;
        if (dma == c.Phys || dma == ulong.MaxValue) return DmaPath.Direct;
        if (c.InIommuGroup) return DmaPath.Iommu;
        d.Offset = (long)(dma - c.Phys);
        _notes.Add($"{d.Device.Name}: dma-direct with a dma-ranges offset of {(d.Offset < 0 ? "-" : "+")}0x{(d.Offset < 0 ? 0 - (ulong)d.Offset : (ulong)d.Offset):x} (first mapping, line {c.Line})");
        return DmaPath.Direct;
    }

    /// <summary>
    /// The IOMMU family: the configured one, else the one the trace names (a device that is the SMMU itself
    /// allocating its queues; an MSI doorbell mapped by the IOMMU layer means an ARM SMMU with a GIC ITS), else
    /// VT-d for PCI-only x86-style traces (VT-d and AMD-Vi look alike in these events).
    /// </summary>
    ReplayIommuFamily Family()
    {
        if (_family is not null) return _family;
        string? smmu = _byName.Keys.FirstOrDefault(n => n.Contains("smmu", StringComparison.OrdinalIgnoreCase));
        if (smmu is not null)
        {
            _family = smmu.Contains("v3", StringComparison.OrdinalIgnoreCase) ? ReplayIommuFamily.ArmSmmuV3 : ReplayIommuFamily.ArmSmmu;
            _notes.Add($"IOMMU family {_family.Name}: device {smmu} is the SMMU itself");
        }
        else if (_sawLayerMap)
        {
            _family = ReplayIommuFamily.ArmSmmuV3;
            _notes.Add($"IOMMU family {_family.Name}: the IOMMU layer mapped an MSI doorbell page itself (software-managed MSI)");
        }
        else
        {
            _family = ReplayIommuFamily.IntelVtd;
            _notes.Add($"IOVA geometry of {_family.Name}: no SMMU device and no software-managed MSI page (an x86 hardware MSI window, the same below 4 GiB for VT-d, AMD-Vi and virtio-iommu)");
        }
        return _family;
    }

    bool _sawLayerMap;

    /// <summary>Whether the DMA domains were lazy (DMA_FQ); null until the first domain.</summary>
    public bool? DomainsLazy { get; private set; }

    /// <summary>Strict votes (a freed IOVA reused at once) and lazy votes the trace gave (see InferLazy).</summary>
    public (int Strict, int Lazy) PolicyVotes => (_strictVotes, _lazyVotes);

    /// <summary>The IOMMU family as far as the trace has shown it so far (configured, decided, an SMMU device seen, or
    /// a software-managed MSI page mapped); null while nothing says.</summary>
    public ReplayIommuFamily? FamilyIfKnown()
    {
        if (_family is not null) return _family;
        if (_byName.Keys.Any(n => n.Contains("smmu", StringComparison.OrdinalIgnoreCase)) || _sawLayerMap) return Family();
        return null;
    }

    /// <summary>Linux: iommu_dma_init_domain() for the device's default DMA domain (one per device, as on Linux today).</summary>
    void EnsureDomain(Dev d)
    {
        if (d.Domain is not null) return;
        var f = Family();
        var dom = new IommuDmaIovaAllocator(f.PgsizeBitmap, 0, f.ApertureBits >= 64 ? ulong.MaxValue : (1UL << f.ApertureBits) - 1,
            forceDac: _opt.Platform?.Kernel.ForceDac ?? false, cpus: Math.Max(1, _opt.Cpus), clock: _clock, hz: _opt.Hz);
        if (d.Device.IsPci && _opt.PciWindows.Count > 0) dom.ReservePciWindows(_opt.PciWindows);
        foreach (var (start, len, hwMsi) in f.Reserved) dom.ReserveRegion(start, len, hwMsi);
        bool lazy = _opt.Policy == ReplayPolicy.Lazy || (_opt.Policy == ReplayPolicy.AsTraced && InferLazy());
        if (lazy) AddFlushQueue(dom.EnableFlushQueue(_flush, hz: _opt.Hz, jiffies: Jiffies));
        DomainsLazy ??= lazy;
        if (_opt.Policy == ReplayPolicy.AsTraced && _domains == 0)
            _notes.Add($"DMA domains {(lazy ? "lazy (DMA_FQ, flush queues)" : "strict")}: {_strictVotes} freed IOVA(s) reused at once, {_lazyVotes} not" +
                       (_opt.Strict is not null ? " (the kernel log's policy decides)" : _opt.Platform is not null ? " (the platform's iommu.strict decides)" : ""));
        d.Domain = dom;
        d.Master = dom.Attach(d.Device);
        d.DomainId = ++_domains;
    }

    /// <summary>
    /// The default swiotlb pool (Linux: swiotlb_init_remap()): base from the platform, else from the first bounce in
    /// the trace (an empty pool serves its first request from its first page: base = that slot's address rounded
    /// down to PAGE_SIZE; the pool is page aligned), size from the platform (default 64 MiB), areas from the CPUs.
    /// Without either (a what-if on a trace that never bounced) the pool sits at 0x7c000000, below 2 GiB like a
    /// memblock_alloc_low() pool; only its addresses depend on that.
    /// </summary>
    void EnsurePool(in ReplayCall c)
    {
        if (_pool is not null) return;
        var spec = _opt.Swiotlb ?? _opt.Platform?.Swiotlb ?? new SwiotlbSpec();
        ulong baseAddr;
        if (spec.Base is ulong b) baseAddr = b;
        else if (_firstBounceSlot != ulong.MaxValue && _opt.Policy == ReplayPolicy.AsTraced)
        {
            baseAddr = _firstBounceSlot & ~(Dma.Swiotlb.PageSize - 1);
            _notes.Add($"swiotlb pool base 0x{baseAddr:x}: the trace's first bounce slot 0x{_firstBounceSlot:x} rounded down to a page");
        }
        else baseAddr = 0x7c00_0000;
        var geo = SwiotlbBoot.Geometry(spec, Math.Max(1, _opt.Cpus));
        const ulong top = 1UL << PhysicalMemory.MaxPhysBits;
        if (geo.Bytes < top - 0x7c00_0000 && baseAddr > top - geo.Bytes)
        {
            _notes.Add($"swiotlb pool base 0x{baseAddr:x} leaves no room for the {geo.Bytes >> 20} MiB pool in the model's {PhysicalMemory.MaxPhysBits}-bit physical space: placed at 0x7c000000");
            baseAddr = 0x7c00_0000;
        }
        _memory ??= new PhysicalMemory([new MemRange(new PhysAddr(0), 1UL << PhysicalMemory.MaxPhysBits)]);
        _pool = new SwiotlbPool(_memory, new MemRange(new PhysAddr(baseAddr), geo.Bytes), geo.Areas,
            forceBounce: _opt.Policy == ReplayPolicy.SwiotlbForce || spec.Mode == "force");
        _notes.Add($"swiotlb pool {geo.Bytes >> 20} MiB, {geo.Areas} area(s)");
    }

    /// <summary>dma_get_max_seg_size(): PCI's default is 64 KiB; a longer DMA segment in the trace shows the driver
    /// raised it (NVMe, virtio and GPU drivers set UINT_MAX).</summary>
    void LearnMaxSeg(Dev d, ReadOnlySpan<ulong> lengths)
    {
        if (d.MaxSegLearned) return;
        foreach (ulong l in lengths)
            if (l > d.Device.MaxSegmentSize)
            {
                d.MaxSegLearned = true;
                d.Device.MaxSegmentSize = uint.MaxValue;
                _notes.Add($"{d.Device.Name}: max_seg_size raised to UINT_MAX (a {l}-byte DMA segment)");
                return;
            }
    }

    /// <summary>IIotlbFlushAll of the lazy domains: one whole-IOTLB invalidation per flush-queue flush.</summary>
    sealed class FlushCounter(MachineReplayModel owner) : IIotlbFlushAll
    {
        public long Flushes;
        public void FlushIotlbAll()
        {
            Flushes++;
            owner._invalidations++;
            owner._iotlb.FlushAll();
        }
    }
}
