using DmaLab.Devices;
using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// The algorithm every driver shares (as the kernel's drivers share io-pgtable and the core helpers): domains
/// backed by an io-pgtable from the registry, map/unmap delegated to it, gathered invalidations turned into the
/// driver's own invalidation commands, per-master ports on the translation unit, faults routed to the core.
/// A sealed driver supplies the hardware: how a stream is programmed, how configuration is decoded, and the
/// invalidation commands.
/// </summary>
public abstract class IommuDriverBase : IIommuOps, ITranslationOwner
{
    /// <summary>The per-master state a driver keeps (Linux: e.g. struct arm_smmu_master_cfg, device_domain_info).</summary>
    protected class Master(Device device, DevIommu state, int[] ports)
    {
        public Device Device { get; } = device;
        public DevIommu State { get; } = state;
        /// <summary>One translation-unit port per firmware ID.</summary>
        public int[] Ports { get; } = ports;
        public IommuDomain? Domain { get; set; }
    }

    readonly List<Master> _masters = new();

    protected IommuDriverBase(IommuDevice instance, IommuDriverContext context, DriverLimits limits)
    {
        Instance = instance;
        Context = context;
        Limits = limits;
        var spec = instance.Spec;
        PgsizeBitmap = spec.PgsizeBitmap != 0 ? spec.PgsizeBitmap : limits.PgsizeBitmap;
        Ias = spec.Ias != 0 ? spec.Ias : limits.Ias;
        Oas = spec.Oas != 0 ? spec.Oas : limits.Oas;
        instance.Ops = this;
        instance.Hardware.Owner = this;
    }

    public abstract string DriverName { get; }
    public IommuDevice Instance { get; }
    public IommuDriverContext Context { get; }
    public DriverLimits Limits { get; }
    public ulong PgsizeBitmap { get; }
    public int Ias { get; }
    public int Oas { get; }
    protected TranslationUnit Hw => Instance.Hardware;
    protected IommuCore Core => Context.Core;
    protected IReadOnlyList<Master> Masters => _masters;

    /// <summary>Whether invalidation is costly enough to defer (IOMMU_CAP_DEFERRED_FLUSH); drivers that invalidate inside unmap say no.</summary>
    protected virtual bool DeferredFlush => true;
    /// <summary>Drivers with an IDENTITY domain (bypass) say yes.</summary>
    protected virtual bool SupportsIdentity => true;
    protected virtual bool SupportsBlocked => true;

    public virtual bool Capable(Device dev, IommuCap cap) => cap switch
    {
        IommuCap.CacheCoherency => Instance.Spec.CoherentWalk || dev.Coherent,
        IommuCap.NoExec => true,
        IommuCap.DeferredFlush => DeferredFlush,
        _ => false,
    };

    /// <summary>The binding has #iommu-cells = &lt;0&gt;: a master's "iommus" reference names the IOMMU and nothing else
    /// (Linux: of_iommu_xlate() with args_count 0; omap_iommu_probe_device(), exynos_iommu_of_xlate(),
    /// rk_iommu_of_xlate() know the master by the phandle alone), so a master with no IDs still probes, on one port.</summary>
    protected virtual bool ProbesWithoutIds => false;

    public virtual int ProbeDevice(Device dev, DevIommu state)
    {
        if (state.Ids.Count == 0 && !ProbesWithoutIds) return -Errno.ENODEV;
        var ports = new int[Math.Max(1, state.Ids.Count)];
        for (int i = 0; i < ports.Length; i++) ports[i] = Hw.AddPort(state.Ids.Count == 0 ? 0u : state.Ids[i]);
        var m = CreateMaster(dev, state, ports);
        int ret = OnProbe(m);
        if (ret != 0) return ret;
        state.Port = ports[0];
        state.Priv = m;
        _masters.Add(m);
        return 0;
    }

    protected virtual Master CreateMaster(Device dev, DevIommu state, int[] ports) => new(dev, state, ports);
    /// <summary>Driver-specific probe (allocate stream-map entries, check IDs); 0 or -errno.</summary>
    protected virtual int OnProbe(Master m) => 0;

    public virtual void ReleaseDevice(Device dev, DevIommu state)
    {
        if (state.Priv is Master m) { OnRelease(m); _masters.Remove(m); }
    }

    protected virtual void OnRelease(Master m) { }

    public virtual IommuGroup? DeviceGroup(Device dev, IommuCore core) => dev.IsPci ? core.PciDeviceGroup(dev) : core.GenericDeviceGroup(dev);

    public virtual IommuDomainType? DefDomainType(Device dev) => null;

    public IommuDomain? DomainAlloc(IommuDomainType type, Device? dev)
    {
        switch (type)
        {
            case IommuDomainType.Identity: return SupportsIdentity ? new IommuDomain(type, this) : null;
            case IommuDomainType.Blocked: return SupportsBlocked ? new IommuDomain(type, this) : null;
        }
        var d = CreatePagingDomain(type);
        d.PgsizeBitmap = PgsizeBitmap;
        d.Geometry = IommuDomainGeometry.FromIas(Ias);
        if (FinaliseAtAlloc && Finalise(d) != 0) return null;
        return d;
    }

    protected virtual IommuDomain CreatePagingDomain(IommuDomainType type) => new(type, this);
    /// <summary>Most drivers build the page table at allocation; ARM SMMU does it at first attach (arm_smmu_init_domain_context()).</summary>
    protected virtual bool FinaliseAtAlloc => true;

    /// <summary>Allocates the hardware tag and the page table of a paging domain; 0 or -errno.</summary>
    protected virtual int Finalise(IommuDomain d)
    {
        if (d.Pgtable is not null) return 0;
        int tag = AllocTag(d);
        if (tag < 0) return tag;
        d.HwTag = tag;
        return AllocPgtable(d, PgtableFormat(d), Ias, Oas);
    }

    protected abstract IoPgtableFormat PgtableFormat(IommuDomain d);
    /// <summary>Zone flags the driver asks for its table pages (Linux: e.g. sun50i-iommu.c GFP_DMA32); the format may add its own.</summary>
    protected virtual Mm.Gfp PgtableGfp => Mm.Gfp.None;
    /// <summary>Allocates the domain's IOTLB tag (ASID, domain ID, context bank): a non-negative tag or -ENOSPC.</summary>
    protected abstract int AllocTag(IommuDomain d);
    protected abstract void FreeTag(IommuDomain d);

    protected int AllocPgtable(IommuDomain d, IoPgtableFormat format, int ias, int oas, int levels = 0)
    {
        var cfg = new IoPgtableConfig
        {
            PgsizeBitmap = d.PgsizeBitmap, Ias = ias, Oas = oas, Levels = levels,
            CoherentWalk = Instance.Spec.CoherentWalk, Tlb = new DomainFlushOps(this, d), TableGfp = PgtableGfp,
        };
        var table = Context.PgtableFactory(format, cfg, Context.Memory, Context.Pages);
        d.Pgtable = table;
        d.PgsizeBitmap = table.Config.PgsizeBitmap;
        d.Geometry = IommuDomainGeometry.FromIas(table.Config.Ias);
        return 0;
    }

    public virtual void DomainFree(IommuDomain d)
    {
        if (d.Pgtable is not null)
        {
            InvalidateDomain(d);
            d.Pgtable.Free();
            d.Pgtable = null;
        }
        if (d.HwTag >= 0) { FreeTag(d); d.HwTag = -1; }
    }

    public int AttachDev(IommuDomain d, Device dev)
    {
        if (Core.GetDevIommu(dev)?.Priv is not Master m || !_masters.Contains(m)) return -Errno.ENODEV;
        if (d.Ops != this) return -Errno.EINVAL;
        if (d.IsPaging && d.Pgtable is null)
        {
            int r = Finalise(d);
            if (r != 0) return r;
        }
        int ret = ProgramStream(m, d);
        if (ret != 0) return ret;
        m.Domain = d;
        Context.Clock.Advance(Context.Costs.DomainAttachNs);
        return 0;
    }

    /// <summary>Writes the hardware configuration that makes the master's streams use <paramref name="d"/> and invalidates the configuration caches.</summary>
    protected abstract int ProgramStream(Master m, IommuDomain d);

    public virtual int MapPages(IommuDomain d, ulong iova, ulong paddr, ulong pgsize, ulong pgcount, IommuProt prot, out ulong mapped)
    {
        var t = d.Pgtable;
        if (t is null) { mapped = 0; return -Errno.ENODEV; }
        return t.MapPages(iova, paddr, pgsize, pgcount, prot, out mapped);
    }

    public virtual ulong UnmapPages(IommuDomain d, ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather)
    {
        var t = d.Pgtable;
        if (t is null) return 0;
        ulong n = t.UnmapPages(iova, pgsize, pgcount, ref gather);
        // The descriptors are gone; cached translations stay until an invalidation (the model watches for hits on them).
        if (n != 0) Hw.NoteUnmap(d.HwTag, iova, n);
        return n;
    }

    public virtual int IotlbSyncMap(IommuDomain d, ulong iova, ulong size) => 0;

    public virtual void IotlbSync(IommuDomain d, ref IommuIotlbGather gather)
    {
        if (!gather.IsEmpty && d.Pgtable is not null)
            InvalidateRange(d, gather.Start, gather.End - gather.Start + 1, gather.Pgsize == 0 ? IommuPgsize.MinPageSize(d.PgsizeBitmap) : gather.Pgsize, leaf: true);
        gather = IommuIotlbGather.Init();
    }

    public void FlushIotlbAll(IommuDomain d)
    {
        if (d.Pgtable is not null) InvalidateDomain(d);
    }

    public ulong IovaToPhys(IommuDomain d, ulong iova) => d.Pgtable?.IovaToPhys(iova) ?? 0;

    /// <summary>
    /// Reserved regions every driver reports: reserved-memory regions naming this device with a static base
    /// (no-map → direct, else direct-relaxable, as of_iommu_get_resv_regions() classifies them).
    /// </summary>
    public virtual void GetResvRegions(Device dev, List<ReservedRegion> regions)
    {
        foreach (var r in Context.ReservedMemory)
        {
            if (r.Base is not { } b || r.Size == 0 || r.Reusable) continue;
            if (r.Compatible is "shared-dma-pool" or "restricted-dma-pool") continue;
            if (!r.Devices.Contains(dev.Name, StringComparer.Ordinal) && (dev.Spec.Path is null || !r.Devices.Contains(dev.Spec.Path, StringComparer.Ordinal))) continue;
            regions.Add(new ReservedRegion(b, r.Size, IommuProt.Read | IommuProt.Write,
                r.NoMap ? ReservedRegionType.Direct : ReservedRegionType.DirectRelaxable));
        }
    }

    /// <summary>Invalidates [iova, iova+size) of a domain with the driver's commands, then waits for completion.</summary>
    public abstract void InvalidateRange(IommuDomain d, ulong iova, ulong size, ulong granule, bool leaf);
    /// <summary>Invalidates every translation of a domain (ASID/domain-selective).</summary>
    public abstract void InvalidateDomain(IommuDomain d);

    /// <summary>Invalidation commands (or register writes) the driver issued to the hardware since boot, any scope
    /// (IOTLB, configuration cache, completion waits that are commands: CMD_SYNC, VT-d wait descriptors), as charged by <see cref="ChargeInvalidation"/>.</summary>
    public long InvalidationCommands { get; private set; }

    /// <summary>Charges queueing <paramref name="commands"/> invalidation commands and, when <paramref name="sync"/>, the completion wait.</summary>
    protected void ChargeInvalidation(int commands, bool sync)
    {
        InvalidationCommands += commands;
        var c = Context.Costs;
        Context.Clock.Advance((ulong)commands * c.InvalidateCommandNs + (sync ? c.IotlbInvalidateSyncNs : 0));
    }

    /// <summary>Applies a hardware range invalidation to the IOTLB and walk cache of this instance.</summary>
    protected void HwInvalidateVa(int tag, ulong iova, ulong size, bool leaf)
    {
        Hw.Iotlb.InvalidateVa(tag, iova, size);
        if (!leaf) Hw.WalkCache.InvalidateVa(tag, iova, size);
    }

    protected void HwInvalidateTag(int tag)
    {
        Hw.Iotlb.InvalidateTag(tag);
        Hw.WalkCache.InvalidateTag(tag);
    }

    /// <summary>Invalidates the cached configuration of a master's streams (after reprogramming them).</summary>
    protected void HwInvalidateStreams(Master m)
    {
        foreach (var p in m.Ports) Hw.InvalidateStream(p);
    }

    protected Master? MasterOnPort(int port)
    {
        foreach (var m in _masters) if (Array.IndexOf(m.Ports, port) >= 0) return m;
        return null;
    }

    /// <summary>
    /// Default configuration decode: the domain the driver attached (for hardware whose configuration lives in
    /// registers rather than memory). Drivers with in-memory tables override this to decode them.
    /// </summary>
    public virtual StreamConfig FetchConfig(int port, uint streamId)
    {
        var m = MasterOnPort(port);
        if (m?.Domain is not { } d) return new StreamConfig { Mode = StreamMode.Abort };
        return ConfigFor(d);
    }

    protected static StreamConfig ConfigFor(IommuDomain d) => d.Type switch
    {
        IommuDomainType.Identity => new StreamConfig { Mode = StreamMode.Bypass, Domain = d },
        IommuDomainType.Blocked => new StreamConfig { Mode = StreamMode.Abort, Domain = d },
        _ => new StreamConfig { Mode = StreamMode.Translate, Tag = d.HwTag, Table = d.Pgtable, Domain = d },
    };

    /// <summary>
    /// A fault from the hardware. The driver records it its own way (<see cref="OnFault"/>); drivers whose
    /// interrupt handler calls report_iommu_fault() return true there, so the handler and iommu:io_page_fault run.
    /// </summary>
    public void RecordFault(int port, uint streamId, in StreamConfig config, ulong iova, bool write, IommuFaultReason reason)
    {
        var m = MasterOnPort(port);
        var flags = write ? IommuFaultFlags.Write : IommuFaultFlags.Read;
        bool report = OnFault(m, streamId, iova, write, reason);
        if (m is null) return;
        if (report) Core.ReportFault(config.Domain ?? m.Domain, m.Device, iova, FaultFlagsReported(flags), reason, Context.Clock.NowNs);
        else Core.Faults.Add(new IommuFault(Instance.Name, m.Device.Name, iova, flags, reason, Context.Clock.NowNs));
    }

    /// <summary>Driver-specific fault recording (event queue, fault status registers). Returns whether the driver reports it to the core.</summary>
    protected abstract bool OnFault(Master? m, uint streamId, ulong iova, bool write, IommuFaultReason reason);
    /// <summary>Some drivers always pass flags 0 (OMAP, IPMMU).</summary>
    protected virtual IommuFaultFlags FaultFlagsReported(IommuFaultFlags flags) => flags;

    /// <summary>The IOMMU's fixed software-MSI window for ARM SMMUs (Linux: MSI_IOVA_BASE 0x8000000, MSI_IOVA_LENGTH 0x100000).</summary>
    protected static ReservedRegion SwMsiRegion()
        => new(0x800_0000, 0x10_0000, IommuProt.Write | IommuProt.NoExec | IommuProt.Mmio, ReservedRegionType.SwMsi);
}
