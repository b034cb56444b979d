using System.Runtime.CompilerServices;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.DmaIommu;

/// <summary>
/// The IOMMU-backed DMA ops (Linux: drivers/iommu/dma-iommu.c, iommu_dma_ops): the glue from the DMA API to the
/// IOMMU API. An IOVA comes from the domain's <see cref="IommuDmaIovaAllocator"/>, the page tables are written through
/// <see cref="IommuCore.Map"/>, and an unmap either invalidates right away (strict, IOMMU_DOMAIN_DMA) or hands the
/// IOVA to the domain's <see cref="FlushQueue"/> (lazy, IOMMU_DOMAIN_DMA_FQ) so it is reused only after a flush-all.
/// Untrusted devices and buffers that do not fill their granule bounce through swiotlb (dev_use_swiotlb) and
/// non-coherent masters get the arm64 cache maintenance, as dma-direct does. This file is the streaming half;
/// IommuDmaOps.Alloc.cs holds coherent allocation, mmap and get_sgtable.
/// </summary>
public sealed partial class IommuDmaOps : DmaMapOpsBase
{
    readonly IommuCore _core;
    readonly MemorySystem _mem;
    readonly DmaDirectOps _direct;
    readonly SimClock _clock;
    readonly int _cpus;
    readonly Dictionary<Device, IommuDmaDevice> _devs = new(ReferenceEqualityComparer.Instance);
    readonly Dictionary<IommuDomain, IommuDmaCookie> _cookies = new(ReferenceEqualityComparer.Instance);
    IommuDmaDevice? _last;

    // Scratch for map_sg (grown on demand, never per call): padded IOVA lengths, (phys, len) ranges, DMA segments.
    ulong[] _sgPadded = new ulong[64];
    (ulong Phys, ulong Length)[] _sgRanges = new (ulong, ulong)[64];
    SgSegment[] _sgIn = new SgSegment[64];
    SgDmaSegment[] _sgOut = new SgDmaSegment[64];

    /// <param name="core">the IOMMU core whose domains this maps into</param>
    /// <param name="memory">page allocator and CMA areas for dma_alloc</param>
    /// <param name="direct">dma-direct, for its atomic pools and dma_alloc_contiguous()</param>
    /// <param name="cache">CPU cache for non-coherent masters; null = every master is coherent</param>
    public IommuDmaOps(IommuCore core, MemorySystem memory, KernelAddressSpace kva, CpuCache? cache, DmaDirectOps direct,
        SimClock clock, int cpus) : base(kva, cache)
    {
        _core = core ?? throw new ArgumentNullException(nameof(core));
        _mem = memory ?? throw new ArgumentNullException(nameof(memory));
        _direct = direct ?? throw new ArgumentNullException(nameof(direct));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _cpus = Math.Max(1, cpus);
    }

    public override string Name => "iommu-dma";
    public IommuCore Core => _core;
    /// <summary>PCI host-bridge memory windows (bus addresses) iova_reserve_pci_windows() keeps out of PCI domains.</summary>
    public List<(ulong Start, ulong End, ulong Offset)> PciMemWindows { get; } = new();
    /// <summary>Every cookie (one per DMA domain in use), in creation order.</summary>
    public IEnumerable<IommuDmaCookie> Cookies => _cookies.Values;

    /// <summary>The cookie and per-device state of <paramref name="dev"/>, or null when it does not use iommu-dma.</summary>
    public IommuDmaDevice? StateOf(Device dev) => _devs.GetValueOrDefault(dev);

    /// <summary>
    /// Linux: iommu_setup_dma_ops() + iommu_dma_init_domain(): the first device of a DMA domain initialises its
    /// cookie (granule from the smallest page size, base from the device's dma-ranges, flush queue for DMA_FQ when the
    /// driver can defer flushes, then the PCI windows and reserved regions taken out of the IOVA space); later devices
    /// of the same domain share it. Sets dev->dma_ops. Returns 0 or -errno.
    /// </summary>
    public int Attach(Device dev, IommuDomain domain)
    {
        ArgumentNullException.ThrowIfNull(dev);
        ArgumentNullException.ThrowIfNull(domain);
        if (!domain.Type.IsDmaApi()) throw new ArgumentException($"{domain} is not a DMA API domain", nameof(domain));
        if (!_cookies.TryGetValue(domain, out var cookie))
        {
            var geo = domain.Geometry;
            ulong? rangeMin = null;
            var ranges = dev.Spec.DmaRanges;
            if (ranges.Count > 0)
            {
                ulong lo = ulong.MaxValue;
                foreach (var r in ranges) lo = Math.Min(lo, r.BusAddr);
                rangeMin = lo;
            }
            var alloc = new IommuDmaIovaAllocator(domain.PgsizeBitmap, geo.ApertureStart, geo.ApertureEnd, geo.ForceAperture,
                _core.Kernel.ForceDac, _cpus, _clock, dmaRangeMin: rangeMin);
            cookie = new IommuDmaCookie(domain, alloc) { Options = IommuDmaOptions.Init(_core.GetDevIommu(dev)) };
            // iommu_dma_init_domain(): a DMA_FQ domain without deferred-flush support silently becomes strict.
            if (domain.Type == IommuDomainType.DmaFq)
            {
                if (domain.Ops.Capable(dev, IommuCap.DeferredFlush)) alloc.EnableFlushQueue(cookie, cookie.Options.QueueType);
                else domain.Type = IommuDomainType.Dma;
            }
            ReserveRegions(dev, alloc);
            _cookies[domain] = cookie;
        }
        var state = new IommuDmaDevice(dev, cookie, cookie.Allocator.Attach(dev));
        _devs[dev] = state;
        cookie.Devices.Add(dev);
        _last = null;
        dev.DmaState.SkipSync = false;
        dev.DmaOps = this;
        return 0;
    }

    /// <summary>Linux: iova_reserve_iommu_regions(): PCI windows, then every reserved region but SW_MSI.</summary>
    void ReserveRegions(Device dev, IommuDmaIovaAllocator alloc)
    {
        if (dev.IsPci && PciMemWindows.Count > 0) alloc.ReservePciWindows(PciMemWindows);
        foreach (var r in _core.GetResvRegions(dev))
        {
            if (r.Type == ReservedRegionType.SwMsi || r.Length == 0) continue;
            alloc.ReserveRegion(r.Start, r.Length, hwMsi: r.Type == ReservedRegionType.Msi);
        }
    }

    /// <summary>The device leaves iommu-dma (its group was moved to another domain or it was released).</summary>
    public void Detach(Device dev)
    {
        if (!_devs.Remove(dev, out var st)) return;
        st.Cookie.Devices.Remove(dev);
        _last = null;
        if (dev.DmaOps == this) dev.DmaOps = null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    IommuDmaDevice State(Device dev)
    {
        var l = _last;
        if (l is not null && ReferenceEquals(l.Device, dev)) return l;
        return Lookup(dev);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    IommuDmaDevice Lookup(Device dev)
    {
        if (!_devs.TryGetValue(dev, out var st))
            throw new InvalidOperationException($"device {dev.Name} uses iommu-dma ops but was never attached to a DMA domain (IommuDmaOps.Attach)");
        _last = st;
        return st;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool Coherent(Device dev) => dev.Coherent || Cache is null;

    /// <summary>Linux: dma_info_to_prot(): IOMMU_CACHE for coherent masters, PRIV / MMIO from the attributes, and
    /// READ / WRITE from the direction (none for DMA_NONE).</summary>
    public static IommuProt DmaInfoToProt(DmaDirection dir, bool coherent, DmaAttrs attrs)
    {
        var prot = coherent ? IommuProt.Cache : IommuProt.None;
        if ((attrs & DmaAttrs.Privileged) != 0) prot |= IommuProt.Priv;
        if ((attrs & DmaAttrs.Mmio) != 0) prot |= IommuProt.Mmio;
        return dir switch
        {
            DmaDirection.Bidirectional => prot | IommuProt.Read | IommuProt.Write,
            DmaDirection.ToDevice => prot | IommuProt.Read,
            DmaDirection.FromDevice => prot | IommuProt.Write,
            _ => IommuProt.None,
        };
    }

    /// <summary>dma_kmalloc_needs_bounce() (arm64, CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC): a non-coherent device the CPU
    /// may read after, with a kmalloc size class that is not a multiple of the cache line.</summary>
    bool KmallocNeedsBounce(Device dev, ulong size, DmaDirection dir)
    {
        if (Coherent(dev) || dir == DmaDirection.ToDevice || dev.DmaIoTlbMem is null) return false;
        ulong line = (ulong)Cache!.LineSize;
        if (size >= 2 * line) return false;
        ulong cls = size <= 8 ? 8 : size <= 16 ? 16 : size <= 32 ? 32 : size <= 64 ? 64 : size <= 96 ? 96 : size <= 128 ? 128 : size <= 192 ? 192 : System.Numerics.BitOperations.RoundUpToPowerOf2(size);
        return cls % line != 0;
    }

    /// <summary>Linux: dev_use_swiotlb(): untrusted devices, or a kmalloc buffer a non-coherent device must not share a line of.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool DevUseSwiotlb(Device dev, ulong size, DmaDirection dir) => dev.Untrusted || KmallocNeedsBounce(dev, size, dir);

    /// <summary>Linux: dev_use_sg_swiotlb(): untrusted, or any entry that needs a kmalloc bounce.</summary>
    bool DevUseSgSwiotlb(Device dev, Scatterlist sg, int nents, DmaDirection dir)
    {
        if (dev.Untrusted) return true;
        for (int i = 0; i < nents; i++) if (KmallocNeedsBounce(dev, sg[i].Length, dir)) return true;
        return false;
    }

    /// <summary>
    /// Linux: __iommu_dma_map(): an IOVA for iova_align(size + offset) below <paramref name="dmaMask"/>, mapped with
    /// iommu_map(); the IOVA is freed again when the page tables refuse. Keeps phys's offset within the granule.
    /// </summary>
    DmaAddr IommuDmaMap(IommuDmaDevice st, PhysAddr phys, ulong size, IommuProt prot, ulong dmaMask, int cpu)
    {
        var alloc = st.Cookie.Allocator;
        var dma = alloc.MapPage(st.Master, phys.Value, size, dmaMask, cpu);
        if (dma.IsError)
        {
            if (st.Device.MinAlignMask > alloc.Granule - 1)
                Warn("iommu-dma-min-align", st.Device, phys.Value, $"{st.Device.Name}: DMA min_align_mask 0x{st.Device.MinAlignMask:x} exceeds the IOVA granule 0x{alloc.Granule:x}");
            return DmaAddr.MappingError;
        }
        ulong off = dma.Value & (alloc.Granule - 1);
        ulong iova = dma.Value - off;
        ulong len = (size + off + alloc.Granule - 1) & ~(alloc.Granule - 1);
        if (_core.Map(st.Cookie.Domain, iova, phys.Value - off, len, prot) != 0)
        {
            alloc.FreeIova(iova, len, cpu);
            return DmaAddr.MappingError;
        }
        return dma;
    }

    /// <summary>
    /// Linux: __iommu_dma_unmap(): iommu_unmap_fast() of the granule-aligned range; strict domains sync the IOTLB
    /// at once and free the IOVA, lazy ones queue the IOVA (with any freed table pages) for the next flush-all.
    /// </summary>
    void IommuDmaUnmap(IommuDmaDevice st, DmaAddr addr, ulong size, int cpu)
    {
        var cookie = st.Cookie;
        var alloc = cookie.Allocator;
        ulong granule = alloc.Granule;
        ulong off = addr.Value & (granule - 1);
        ulong iova = addr.Value - off;
        size = (size + off + granule - 1) & ~(granule - 1);
        var gather = IommuIotlbGather.Init();
        gather.Queued = cookie.Fq is not null;
        ulong unmapped = _core.UnmapFast(cookie.Domain, iova, size, ref gather);
        if (unmapped != size)
            Warn("iommu-dma-unmap-size", st.Device, iova, $"{st.Device.Name}: WARN_ON(unmapped != size): unmapped 0x{unmapped:x} of 0x{size:x} at IOVA 0x{iova:x}");
        if (!gather.Queued)
        {
            IommuCore.IotlbSync(cookie.Domain, ref gather);
            cookie.StrictSyncs++;
        }
        else cookie.QueuedUnmaps++;
        alloc.FreeIova(iova, size, cpu, gather.Queued, gather.FreedTablePages);
    }

    /// <summary>Linux: iommu_dma_map_page() / iommu_dma_map_phys(); MMIO attributes go to map_resource.</summary>
    public override DmaAddr MapPage(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        if ((attrs & DmaAttrs.Mmio) != 0) return MapResource(dev, phys, size, dir, attrs, cpu);
        var st = State(dev);
        bool coherent = Coherent(dev);
        var prot = DmaInfoToProt(dir, coherent, attrs);
        ulong granuleMask = st.Cookie.Allocator.Granule - 1;
        if (DevUseSwiotlb(dev, size, dir) && ((phys.Value | size) & granuleMask) != 0)
        {
            var bounced = Bounce(st, phys, size, dir, attrs, cpu);
            if (bounced.Value == Swiotlb.MappingErrorPhys) return DmaAddr.MappingError;
            phys = bounced;
        }
        if (!coherent && (attrs & DmaAttrs.SkipCpuSync) == 0) ArchSyncForDevice(phys, size, dir);
        var dma = IommuDmaMap(st, phys, size, prot, dev.DmaMask, cpu);
        if (dma.IsError && dev.DmaIoTlbMem is { } pool && pool.IsSwiotlbBuffer(phys))
            pool.TblUnmapSingle(dev, phys, size, dir, attrs);
        return dma;
    }

    /// <summary>The swiotlb part of iommu_dma_map_page(): a slot aligned to the IOVA granule, its padding cleared so
    /// the device cannot read stale bounce data through the rest of the page.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    PhysAddr Bounce(IommuDmaDevice st, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        var dev = st.Device;
        var pool = dev.DmaIoTlbMem;
        if (pool is null)
        {
            Warn("iommu-dma-no-swiotlb", dev, phys.Value, $"{dev.Name}: DMA: Untrusted device or unaligned buffer needs bouncing, but swiotlb is not active");
            return new PhysAddr(Swiotlb.MappingErrorPhys);
        }
        ulong granule = st.Cookie.Allocator.Granule;
        Cache?.PrepareCpuCopyFrom(phys, size);
        var tlb = pool.TblMapSingle(dev, phys, size, (uint)(granule - 1), dir, attrs, cpu);
        if (tlb.Value == Swiotlb.MappingErrorPhys) return tlb;
        ulong padStart = tlb.Value, padSize = (size + granule - 1) & ~(granule - 1);
        if ((attrs & DmaAttrs.SkipCpuSync) == 0 && dir is DmaDirection.ToDevice or DmaDirection.Bidirectional)
        {
            padStart += size;
            padSize -= size;
        }
        _mem.Memory.Fill(new PhysAddr(padStart), padSize, 0);
        BouncedBytes += size;
        return tlb;
    }

    /// <summary>Bytes bounced through swiotlb by iommu-dma mappings.</summary>
    public ulong BouncedBytes { get; private set; }

    /// <summary>Linux: iommu_dma_unmap_page() / iommu_dma_unmap_phys().</summary>
    public override void UnmapPage(Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        if ((attrs & DmaAttrs.Mmio) != 0) { UnmapResource(dev, addr, size, dir, attrs, cpu); return; }
        var st = State(dev);
        ulong phys = IommuCore.IovaToPhys(st.Cookie.Domain, addr.Value);
        if (phys == 0)
        {
            Warn("iommu-dma-unmap-unmapped", dev, addr.Value, $"{dev.Name}: WARN_ON(!phys): unmap of DMA address 0x{addr.Value:x} that has no translation");
            return;
        }
        var p = new PhysAddr(phys);
        if ((attrs & DmaAttrs.SkipCpuSync) == 0 && !Coherent(dev)) ArchSyncForCpu(p, size, dir);
        IommuDmaUnmap(st, addr, size, cpu);
        if (dev.DmaIoTlbMem is { } pool && pool.IsSwiotlbBuffer(p)) UnbounceSingle(dev, pool, p, size, dir, attrs);
    }

    /// <summary>swiotlb_tbl_unmap_single(): the CPU's copy back into the original buffer, then the slot is released.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    void UnbounceSingle(Device dev, SwiotlbPool pool, PhysAddr tlb, ulong size, DmaDirection dir, DmaAttrs attrs)
    {
        var orig = pool.OriginalAddress(dev, tlb);
        pool.TblUnmapSingle(dev, tlb, size, dir, attrs);
        if ((attrs & DmaAttrs.SkipCpuSync) == 0 && dir is DmaDirection.FromDevice or DmaDirection.Bidirectional
            && orig.Value != Swiotlb.MappingErrorPhys)
            Cache?.CompleteCpuCopyTo(orig, size);
    }

    /// <summary>Linux: iommu_dma_map_resource(): MMIO of another device, never bounced or synced, IOMMU_MMIO.</summary>
    public override DmaAddr MapResource(Device dev, PhysAddr phys, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        var st = State(dev);
        return IommuDmaMap(st, phys, size, DmaInfoToProt(dir, false, attrs) | IommuProt.Mmio, dev.DmaMask, cpu);
    }

    /// <summary>Linux: iommu_dma_unmap_resource().</summary>
    public override void UnmapResource(Device dev, DmaAddr addr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu) =>
        IommuDmaUnmap(State(dev), addr, size, cpu);

    /// <summary>Linux: iommu_dma_sync_single_for_cpu().</summary>
    public override void SyncSingleForCpu(Device dev, DmaAddr addr, ulong size, DmaDirection dir, int cpu)
    {
        bool coherent = Coherent(dev);
        if (coherent && !DevUseSwiotlb(dev, size, dir)) return;
        var st = State(dev);
        var phys = new PhysAddr(IommuCore.IovaToPhys(st.Cookie.Domain, addr.Value));
        if (!coherent) ArchSyncForCpu(phys, size, dir);
        if (dev.DmaIoTlbMem is { } pool && pool.IsSwiotlbBuffer(phys))
        {
            var orig = pool.OriginalAddress(dev, phys);
            pool.SyncSingleForCpu(dev, phys, size, dir);
            if (dir is DmaDirection.FromDevice or DmaDirection.Bidirectional && orig.Value != Swiotlb.MappingErrorPhys)
                Cache?.CompleteCpuCopyTo(orig, size);
        }
    }

    /// <summary>Linux: iommu_dma_sync_single_for_device().</summary>
    public override void SyncSingleForDevice(Device dev, DmaAddr addr, ulong size, DmaDirection dir, int cpu)
    {
        bool coherent = Coherent(dev);
        if (coherent && !DevUseSwiotlb(dev, size, dir)) return;
        var st = State(dev);
        var phys = new PhysAddr(IommuCore.IovaToPhys(st.Cookie.Domain, addr.Value));
        if (dev.DmaIoTlbMem is { } pool && pool.IsSwiotlbBuffer(phys))
        {
            var orig = pool.OriginalAddress(dev, phys);
            if (dir is DmaDirection.ToDevice or DmaDirection.Bidirectional && orig.Value != Swiotlb.MappingErrorPhys)
                Cache?.PrepareCpuCopyFrom(orig, size);
            pool.SyncSingleForDevice(dev, phys, size, dir);
        }
        if (!coherent) ArchSyncForDevice(phys, size, dir);
    }

    /// <summary>Linux: iommu_dma_sync_sg_for_cpu(): per entry through the single path when bounced, else by sg_phys.</summary>
    public override void SyncSgForCpu(Device dev, Scatterlist sg, int nents, DmaDirection dir, int cpu)
    {
        if (DevUseSgSwiotlb(dev, sg, nents, dir))
        {
            for (int i = 0; i < nents; i++) SyncSingleForCpu(dev, sg[i].DmaAddress, sg[i].Length, dir, cpu);
            return;
        }
        if (Coherent(dev)) return;
        for (int i = 0; i < nents; i++) ArchSyncForCpu(sg[i].Phys, sg[i].Length, dir);
    }

    /// <summary>Linux: iommu_dma_sync_sg_for_device().</summary>
    public override void SyncSgForDevice(Device dev, Scatterlist sg, int nents, DmaDirection dir, int cpu)
    {
        if (DevUseSgSwiotlb(dev, sg, nents, dir))
        {
            for (int i = 0; i < nents; i++) SyncSingleForDevice(dev, sg[i].DmaAddress, sg[i].Length, dir, cpu);
            return;
        }
        if (Coherent(dev)) return;
        for (int i = 0; i < nents; i++) ArchSyncForDevice(sg[i].Phys, sg[i].Length, dir);
    }

    /// <summary>dma_supported() with iommu-dma: any mask (the IOVA allocator honours it).</summary>
    public override bool DmaSupported(Device dev, ulong mask) => true;

    /// <summary>dma_get_required_mask() for iommu-dma: DMA_BIT_MASK(32), IOVAs are handed out below 4 GiB first.</summary>
    public override ulong GetRequiredMask(Device dev) => 0xffff_ffffUL;

    /// <summary>Linux: iommu_dma_max_mapping_size(): swiotlb's limit for untrusted devices, else SIZE_MAX.</summary>
    public override ulong MaxMappingSize(Device dev) => dev.Untrusted && dev.DmaIoTlbMem is not null ? SwiotlbPool.MaxMappingSize(dev) : ulong.MaxValue;

    /// <summary>Linux: iommu_dma_opt_mapping_size() = iova_rcache_range(): PAGE_SIZE &lt;&lt; (IOVA_RANGE_CACHE_MAX_SIZE - 1).</summary>
    public override ulong OptMappingSize() => PhysAddr.PageSize << (Iova.IovaDomain.RangeCacheMaxSize - 1);

    /// <summary>
    /// Linux: iommu_dma_prepare_msi() / iommu_dma_get_msi_page(): the doorbell page containing
    /// <paramref name="msiAddr"/> gets an IOVA in the device's domain (mapped WRITE | NOEXEC | MMIO the first time;
    /// a hardware MSI region is already identity-reserved). Returns the IOVA of the doorbell page, or 0 on failure.
    /// </summary>
    public ulong PrepareMsi(Device dev, PhysAddr msiAddr, int cpu)
    {
        var st = State(dev);
        var alloc = st.Cookie.Allocator;
        int known = alloc.MsiPages.Count;
        ulong iova = alloc.GetMsiPage(st.Master, msiAddr.Value, cpu);
        if (iova == 0 || alloc.MsiPages.Count == known) return iova;
        ulong granule = alloc.Granule;
        if (_core.Map(st.Cookie.Domain, iova, msiAddr.Value & ~(granule - 1), granule, IommuProt.Write | IommuProt.NoExec | IommuProt.Mmio) != 0)
        {
            Warn("iommu-dma-msi-map", dev, msiAddr.Value, $"{dev.Name}: mapping the MSI doorbell page failed");
            return 0;
        }
        return iova;
    }
}
