using DmaLab.Devices;
using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;
using DmaLab.Platform;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// The s390 zPCI IOMMU (Linux: drivers/iommu/s390-iommu.c with arch/s390/include/asm/pci_dma.h and
/// arch/s390/pci/pci_insn.c, as of 6.15: the last kernels whose domains are always region-third tables and whose
/// probe clamps end_dma to ZPCI_TABLE_SIZE_RT; 6.16's "allow larger region tables" moved the aperture into
/// s390_domain_alloc_paging()). Linux registers one iommu_device per PCI function ("s390-iommu.%08x" by fid); a
/// platform gives each function its own S390Iommu instance the same way (several functions on one instance also
/// work, each with its own zPCI attributes). A paging domain is a region-third table (4 KiB pages, aperture
/// [0, ZPCI_TABLE_SIZE_RT - 1]); attaching registers its IOTA for the function's DMA window [start_dma, end_dma]
/// (MPCIFC "register I/O address translation parameters"). Every IOTLB invalidation is an RPCIT (zpci_refresh_trans())
/// per attached function: the gathered range on iotlb_sync, the whole window on flush_iotlb_all, and — for functions
/// whose tables the hypervisor shadows (tlb_refresh) — the new range on iotlb_sync_map. Such functions also get
/// dev->iommu->shadow_on_flush, so iommu-dma gives their lazy domains the single large flush queue.
/// </summary>
public sealed class S390Iommu : IommuDriverBase
{
    /// <summary>ZPCI_TABLE_SIZE_RT.</summary>
    public const ulong TableSizeRt = IoPgtableS390.TableSizeRt;
    const ulong PageSize = 1UL << 12;

    /// <summary>What the driver holds for one function, as tests and reports see it.</summary>
    public readonly record struct ZpciFunction(string Device, uint Fid, uint Fh, ulong StartDma, ulong EndDma, bool TlbRefresh, bool Ism, ulong Iota);

    /// <summary>Per-function state (Linux: the struct zpci_dev fields the driver uses).</summary>
    sealed class Zdev(Device device, DevIommu state, int[] ports) : Master(device, state, ports)
    {
        public uint Fid { get; init; }
        public uint Fh { get; init; }
        public ulong StartDma { get; set; }
        public ulong EndDma { get; set; }
        public bool TlbRefresh { get; init; }
        public bool Ism { get; init; }
        /// <summary>The registered IOTA (0 = none: DMA is blocked) and the domain it belongs to.</summary>
        public ulong Iota { get; set; }
        public IommuDomain? IoatDomain { get; set; }
        /// <summary>The translation the hardware uses while the IOAT is registered.</summary>
        public ZpciIoatWindow? Window { get; set; }
    }

    /// <summary>One RPCIT as issued: function handle, start, length.</summary>
    public readonly record struct Rpcit(uint Fh, ulong Address, ulong Length);

    readonly IdBitmap _tags = new(1, 1 << 16);
    readonly ulong _aperture;

    /// <summary>Every RPCIT (zpci_refresh_trans()) issued, for any reason.</summary>
    public long Rpcits;
    /// <summary>Linux: struct zpci_iommu_ctrs: sync_rpcits (iotlb_sync), sync_map_rpcits (iotlb_sync_map),
    /// global_rpcits (flush_iotlb_all), mapped_pages, unmapped_pages.</summary>
    public long SyncRpcits, SyncMapRpcits, GlobalRpcits, MappedPages, UnmappedPages;
    /// <summary>IOAT registrations and de-registrations (MPCIFC).</summary>
    public long IoatRegistrations, IoatUnregistrations;
    /// <summary>The last RPCIT issued (for tests and the report).</summary>
    public Rpcit LastRpcit { get; private set; }
    /// <summary>DMA errors the functions reported (the platform signals them as PCI error events, not IOMMU faults).</summary>
    public readonly List<(uint Fh, ulong Address, bool Write, IommuFaultReason Reason)> ErrorEvents = new();

    public S390Iommu(IommuDevice instance, IommuDriverContext context)
        : base(instance, context, DefaultLimits)
    {
        // s390_iommu_init(): iommu_dma_forcedac = true (no 32-bit-first IOVA attempt), and the aperture cap
        // s390_iommu_aperture = virt_to_phys(high_memory) * s390_iommu_aperture_factor (1: the size of memory).
        Context.Core.Kernel.ForceDac = true;
        _aperture = Context.Memory.End.Value;
    }

    /// <summary>SZ_4K pages, 42-bit IOVA (region-third table), 64-bit output; 16-bit domain tags (a DmaLab choice).</summary>
    public static readonly DriverLimits DefaultLimits = new(PageSize, 42, 64, 1 << 16,
        new IotlbGeometry(256, 4, IotlbReplacement.Lru, 64, "not published by IBM; modelled 64 sets x 4 ways"),
        "s390-iommu.c pgsize_bitmap SZ_4K; region-third table origin: aperture ZPCI_TABLE_SIZE_RT (42 bits)");

    public override string DriverName => "s390-iommu";
    /// <summary>The function behind <paramref name="dev"/> as probed (window clamped), or null.</summary>
    public ZpciFunction? FunctionOf(Device dev)
        => Core.GetDevIommu(dev)?.Priv is Zdev z && z.State.Instance == Instance
            ? new ZpciFunction(z.Device.Name, z.Fid, z.Fh, z.StartDma, z.EndDma, z.TlbRefresh, z.Ism, z.Iota)
            : null;

    Zdev Fn(int i) => (Zdev)Masters[i];

    /// <summary>Linux: s390_iommu_capable(): cache coherency always; deferred flush unless the function is ISM.</summary>
    public override bool Capable(Device dev, IommuCap cap) => cap switch
    {
        IommuCap.CacheCoherency => true,
        IommuCap.DeferredFlush => (Core.GetDevIommu(dev)?.Priv as Zdev)?.Ism != true,
        _ => false,
    };

    /// <summary>No identity domain: only functions with RTR (zdev->rtr_avail) get s390_iommu_rtr_ops and its identity
    /// domain in recent kernels; not modelled, so iommu.passthrough=1 falls back to a DMA domain.</summary>
    protected override bool SupportsIdentity => false;

    protected override Master CreateMaster(Device dev, DevIommu state, int[] ports)
    {
        var z = dev.Spec.Zpci ?? new ZpciSpec();
        uint fid = z.Fid != 0 ? z.Fid : (uint)(Masters.Count + 1);
        // zpci_init_iommu(): start_dma = PAGE_ALIGN(start_dma); aperture_size = min3(s390_iommu_aperture,
        // ZPCI_TABLE_SIZE_RT - start_dma, end_dma - start_dma + 1); end_dma = start_dma + aperture_size - 1.
        // Unsigned arithmetic as in C (it wraps for nonsense windows, which probe then refuses).
        ulong start = (z.StartDma + PageSize - 1) & ~(PageSize - 1);
        ulong size = Math.Min(_aperture, Math.Min(TableSizeRt - start, z.EndDma - start + 1));
        return new Zdev(dev, state, ports)
        {
            Fid = fid, Fh = z.Fh != 0 ? z.Fh : 0x8000_0000u | fid, StartDma = start, EndDma = start + size - 1,
            TlbRefresh = z.TlbRefresh, Ism = z.Ism,
        };
    }

    /// <summary>Linux: s390_iommu_probe_device(): PCI only; a window starting beyond the table is -EINVAL; the end is
    /// clamped to ZPCI_TABLE_SIZE_RT - 1; tlb_refresh sets shadow_on_flush; DMA starts blocked.</summary>
    public override int ProbeDevice(Device dev, DevIommu state) => dev.IsPci ? base.ProbeDevice(dev, state) : -Errno.ENODEV;

    protected override int OnProbe(Master m)
    {
        var z = (Zdev)m;
        if (z.StartDma > z.EndDma || z.StartDma > TableSizeRt - 1) return -Errno.EINVAL;
        if (z.EndDma > TableSizeRt - 1) z.EndDma = TableSizeRt - 1;
        if (z.TlbRefresh) z.State.ShadowOnFlush = true;
        return 0;
    }

    protected override void OnRelease(Master m) => UnregisterIoat((Zdev)m);

    /// <summary>Linux: .device_group = generic_device_group: each function is its own group.</summary>
    public override IommuGroup? DeviceGroup(Device dev, IommuCore core) => core.GenericDeviceGroup(dev);

    protected override IoPgtableFormat PgtableFormat(IommuDomain d) => IoPgtableFormat.S390;
    protected override int AllocTag(IommuDomain d) => _tags.Alloc();
    protected override void FreeTag(IommuDomain d) => _tags.Free(d.HwTag);

    /// <summary>Linux: s390_domain_alloc_paging(): a region-third table, aperture [0, ZPCI_TABLE_SIZE_RT - 1].</summary>
    protected override int Finalise(IommuDomain d)
    {
        if (d.Pgtable is not null) return 0;
        int tag = AllocTag(d);
        if (tag < 0) return tag;
        d.HwTag = tag;
        return AllocPgtable(d, IoPgtableFormat.S390, 42, Oas, levels: 3);
    }

    /// <summary>Linux: s390_domain_free() → dma_cleanup_tables() (after RCU): the tables go, no RPCIT.</summary>
    public override void DomainFree(IommuDomain d)
    {
        if (d.Pgtable is not null) { d.Pgtable.Free(); d.Pgtable = null; }
        if (d.HwTag >= 0) { FreeTag(d); d.HwTag = -1; }
    }

    /// <summary>
    /// Linux: s390_iommu_attach_device() / blocking_domain_attach_device(): first back to blocked (the IOAT is
    /// unregistered), then for a paging domain the IOTA is registered for [start_dma, end_dma]. A domain whose
    /// aperture misses the window is refused (WARN_ON, -EINVAL).
    /// </summary>
    protected override int ProgramStream(Master m, IommuDomain d)
    {
        var z = (Zdev)m;
        if (d.IsPaging && (d.Geometry.ApertureStart > z.EndDma || d.Geometry.ApertureEnd < z.StartDma))
        {
            Core.Findings.Add(new Analysis.Finding("iommu-warn-on", z.Device.Name, z.StartDma,
                $"s390_iommu_attach_device: aperture of {d} misses the function's DMA window 0x{z.StartDma:x}-0x{z.EndDma:x}"));
            return -Errno.EINVAL;
        }
        UnregisterIoat(z);
        if (d.IsPaging)
        {
            z.Iota = d.Pgtable!.Config.Registers.TryGetValue("IOTA", out var iota) ? iota : d.Pgtable.Root.Value | IoPgtableS390.IotaIotEnabled | IoPgtableS390.IotaDtRt;
            z.IoatDomain = d;
            z.Window = new ZpciIoatWindow(d.Pgtable, z.StartDma, z.EndDma);
            IoatRegistrations++;
            ChargeInvalidation(1, sync: true);
        }
        HwInvalidateStreams(m);
        return 0;
    }

    void UnregisterIoat(Zdev z)
    {
        if (z.Iota == 0) return;
        z.Iota = 0;
        z.IoatDomain = null;
        z.Window = null;
        IoatUnregistrations++;
        HwInvalidateStreams(z);
    }

    /// <summary>The function's translation as registered: the table and window of its IOAT, or blocked.</summary>
    public override StreamConfig FetchConfig(int port, uint streamId)
    {
        if (MasterOnPort(port) is not Zdev { Iota: not 0, IoatDomain: { } d, Window: { } w })
            return new StreamConfig { Mode = StreamMode.Abort };
        return new StreamConfig { Mode = StreamMode.Translate, Tag = d.HwTag, Table = w, Domain = d };
    }

    /// <summary>Linux: s390_iommu_map_pages(): 4 KiB pages inside the aperture, aligned; protected unless IOMMU_WRITE.</summary>
    public override int MapPages(IommuDomain d, ulong iova, ulong paddr, ulong pgsize, ulong pgcount, IommuProt prot, out ulong mapped)
    {
        mapped = 0;
        if (pgsize != PageSize) return -Errno.EINVAL;
        ulong size = pgcount << 12;
        if (pgcount == 0 || iova < d.Geometry.ApertureStart || iova + size - 1 > d.Geometry.ApertureEnd || iova + size - 1 < iova) return -Errno.EINVAL;
        if (((iova | paddr) & (PageSize - 1)) != 0) return -Errno.EINVAL;
        int ret = base.MapPages(d, iova, paddr, pgsize, pgcount, prot, out mapped);
        if (ret == 0) MappedPages += (long)pgcount;
        return ret;
    }

    /// <summary>Linux: s390_iommu_unmap_pages(): invalidate every page (mapped or not), then
    /// iommu_iotlb_gather_add_range() over the whole range.</summary>
    public override ulong UnmapPages(IommuDomain d, ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather)
    {
        ulong size = pgcount << 12;
        if (pgsize != PageSize || pgcount == 0 || iova < d.Geometry.ApertureStart || iova + size - 1 > d.Geometry.ApertureEnd)
        {
            Core.Findings.Add(new Analysis.Finding("iommu-warn-on", "", iova, $"s390_iommu_unmap_pages: 0x{iova:x}+0x{size:x} outside the aperture of {d}"));
            return 0;
        }
        ulong n = base.UnmapPages(d, iova, pgsize, pgcount, ref gather);
        if (n == 0) return 0;
        gather.AddRange(iova, n);
        UnmappedPages += (long)pgcount;
        return n;
    }

    /// <summary>Linux: s390_iommu_iotlb_sync_map(): functions whose tables the hypervisor shadows learn of new
    /// mappings by an RPCIT over the range.</summary>
    public override int IotlbSyncMap(IommuDomain d, ulong iova, ulong size)
    {
        for (int i = 0; i < Masters.Count; i++)
        {
            var z = Fn(i);
            if (z.IoatDomain != d || !z.TlbRefresh) continue;
            SyncMapRpcits++;
            RefreshTrans(z, iova, size);
        }
        return 0;
    }

    /// <summary>Linux: s390_iommu_iotlb_sync(): one RPCIT per attached function over the gathered range; nothing when
    /// the gather was never added to (gather->end == 0).</summary>
    public override void IotlbSync(IommuDomain d, ref IommuIotlbGather gather)
    {
        if (gather.End != 0 && !gather.IsEmpty)
        {
            ulong size = gather.End - gather.Start + 1;
            for (int i = 0; i < Masters.Count; i++)
            {
                var z = Fn(i);
                if (z.IoatDomain != d) continue;
                SyncRpcits++;
                RefreshTrans(z, gather.Start, size);
            }
        }
        gather = IommuIotlbGather.Init();
    }

    /// <summary>A range invalidation the page-table layer asks for (table walk caches); zPCI has only RPCIT for it.</summary>
    public override void InvalidateRange(IommuDomain d, ulong iova, ulong size, ulong granule, bool leaf)
    {
        for (int i = 0; i < Masters.Count; i++)
        {
            var z = Fn(i);
            if (z.IoatDomain != d) continue;
            SyncRpcits++;
            RefreshTrans(z, iova, size);
        }
    }

    /// <summary>Linux: s390_iommu_flush_iotlb_all() → zpci_refresh_all(): an RPCIT over each attached function's
    /// whole DMA window.</summary>
    public override void InvalidateDomain(IommuDomain d)
    {
        for (int i = 0; i < Masters.Count; i++)
        {
            var z = Fn(i);
            if (z.IoatDomain != d) continue;
            GlobalRpcits++;
            RefreshTrans(z, z.StartDma, z.EndDma - z.StartDma + 1);
        }
    }

    /// <summary>Linux: arch/s390/pci/pci_insn.c zpci_refresh_trans(): RPCIT (refresh PCI translations) for the
    /// function handle over [addr, addr + range): cached translations and table entries of that range are dropped.</summary>
    void RefreshTrans(Zdev z, ulong addr, ulong range)
    {
        Rpcits++;
        LastRpcit = new Rpcit(z.Fh, addr, range);
        if (z.IoatDomain is { HwTag: >= 0 } d) HwInvalidateVa(d.HwTag, addr, range, leaf: false);
        ChargeInvalidation(1, sync: true);
    }

    /// <summary>zPCI has no IOMMU fault reporting: a translation error puts the function into the error state and
    /// arrives as a PCI error event (arch/s390/pci/pci_event.c); report_iommu_fault() is never called.</summary>
    protected override bool OnFault(Master? m, uint streamId, ulong iova, bool write, IommuFaultReason reason)
    {
        ErrorEvents.Add(((m as Zdev)?.Fh ?? 0, iova, write, reason));
        return false;
    }

    /// <summary>Linux: s390_iommu_get_resv_regions(): [0, start_dma) and (end_dma, ZPCI_TABLE_SIZE_RT - 1] are
    /// IOMMU_RESV_RESERVED, so iommu-dma never allocates an IOVA outside the function's window.</summary>
    public override void GetResvRegions(Device dev, List<ReservedRegion> regions)
    {
        base.GetResvRegions(dev, regions);
        if (Core.GetDevIommu(dev)?.Priv is not Zdev z) return;
        if (z.StartDma != 0) regions.Add(new ReservedRegion(0, z.StartDma, IommuProt.None, ReservedRegionType.Reserved));
        if (z.EndDma < TableSizeRt - 1)
            regions.Add(new ReservedRegion(z.EndDma + 1, TableSizeRt - z.EndDma - 1, IommuProt.None, ReservedRegionType.Reserved));
    }
}
