using DmaLab.Devices;
using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Iommu.Drivers.VirtioIommu;

/// <summary>
/// The virtio-iommu driver (Linux: drivers/iommu/virtio-iommu.c) and, behind it, the paravirtual device
/// (<see cref="VirtioIommuDevice"/>). The driver keeps each domain's mappings in its own tree and sends requests on
/// the request virtqueue, a ring of request buffers in guest memory: ATTACH/DETACH put endpoints in domains (a bypass
/// ATTACH for an identity domain when the device offers BYPASS_CONFIG), MAP/UNMAP change the device's tree (queued,
/// and kicked by iotlb_sync_map / iotlb_sync, as viommu_add_req() and viommu_sync_req() do), PROBE at probe_device
/// reads the endpoint's reserved regions. page_size_mask and the input range come from the config space. There are
/// no page tables in guest memory and no IOTLB commands: the device applies each request to its own translations.
/// </summary>
public sealed class VirtioIommu : IommuDriverBase
{
    const int SlotBytes = 1024, Slots = 8;
    readonly PhysAddr _ring;
    readonly (int Offset, int Length)[] _pending = new (int, int)[Slots];
    int _queued, _next;
    readonly IdBitmap _domainIds;
    readonly Dictionary<IommuDomain, int> _endpoints = new();

    public VirtioIommu(IommuDevice instance, IommuDriverContext context)
        : base(instance, context, new DriverLimits(~0xfffUL, 64, 64, int.MaxValue,
            new IotlbGeometry(256, 4, IotlbReplacement.Lru, 64, "the device's own translation cache (QEMU caches per domain); modelled 64 sets × 4 ways"),
            "config space: page_size_mask (QEMU default 0xfffffffffffff000), input_range 64 bits, 32-bit domain_range"))
    {
        var spec = instance.Spec;
        ulong inputEnd = Ias >= 64 ? ulong.MaxValue : (1UL << Ias) - 1;
        var resv = spec.VirtioProbeMsi ? new[] { (0xfee0_0000UL, 0xfeef_ffffUL, VirtioIommuLayout.ResvMemMsi) } : [];
        Device = new VirtioIommuDevice(context.Memory, PgsizeBitmap, 0, inputEnd, 1, uint.MaxValue - 1, spec.VirtioBypass, [], resv)
        {
            // The device keeps its translations coherent with the requests it applies.
            Unmapped = (dom, start, end) => HwInvalidateVa((int)dom, start, end == ulong.MaxValue ? ulong.MaxValue - start : end - start + 1, leaf: false),
        };
        _domainIds = new IdBitmap(1, 1 << 20);
        if (!context.Pages.TryAllocPages(1, Gfp.Kernel | Gfp.Zero, out _ring))
            throw new InvalidOperationException($"{instance.Name}: no memory for the virtio-iommu request queue");
        context.Memory.Fill(_ring, 2 * 4096, 0);
    }

    public override string DriverName => "virtio_iommu";
    public VirtioIommuDevice Device { get; }
    /// <summary>Requests sent, by type; the kicks (viommu_sync_req()) that sent them.</summary>
    public long Kicks { get; private set; }
    public long RequestErrors { get; private set; }

    protected override bool SupportsIdentity => Instance.Spec.VirtioBypass;
    // viommu_domain_alloc() offers no blocking domain.
    protected override bool SupportsBlocked => false;
    protected override bool FinaliseAtAlloc => true;
    protected override IoPgtableFormat PgtableFormat(IommuDomain d) => IoPgtableFormat.VirtioIommu;
    protected override int AllocTag(IommuDomain d) => _domainIds.Alloc();
    protected override void FreeTag(IommuDomain d) => _domainIds.Free(d.HwTag);

    /// <summary>viommu_domain_finalise(): a domain ID from the domain range, the device's page sizes and aperture; the
    /// driver's mapping tree instead of a page table.</summary>
    protected override int Finalise(IommuDomain d)
    {
        if (d.Pgtable is not null) return 0;
        if ((PgsizeBitmap & (~PgsizeBitmap + 1)) > 4096) return -Errno.ENODEV; // granule larger than PAGE_SIZE
        int tag = AllocTag(d);
        if (tag < 0) return tag;
        d.HwTag = tag;
        d.Pgtable = new VirtioIommuMappings(new IoPgtableConfig { PgsizeBitmap = PgsizeBitmap, Ias = Ias, Oas = Oas });
        d.PgsizeBitmap = PgsizeBitmap;
        d.Geometry = IommuDomainGeometry.FromIas(Ias);
        return 0;
    }

    /// <summary>viommu_probe_endpoint(): a PROBE request per endpoint; RESV_MEM properties become reserved regions.</summary>
    protected override int OnProbe(Master m)
    {
        var ids = m.State.Ids;
        foreach (var id in ids) Device.AddEndpoint(id);
        var regions = new List<ReservedRegion>();
        Span<byte> sub = stackalloc byte[1];
        foreach (var id in ids)
        {
            int len = VirtioIommuLayout.Head + VirtioIommuLayout.ProbeBody + VirtioIommuLayout.ProbeSize + VirtioIommuLayout.Tail;
            var buf = _ring; // PROBE goes alone (viommu_send_req_sync): the ring is empty after a sync
            Sync();
            Context.Memory.Fill(buf, (ulong)len, 0);
            Context.Memory.Write(buf, [(byte)VirtioIommuRequestType.Probe]);
            Context.Memory.TryWriteU32(buf + VirtioIommuLayout.Head, id);
            Kicks++;
            if (Device.Handle(buf, len) != VirtioIommuStatus.Ok) { RequestErrors++; return -Errno.EIO; }
            var p = buf + (ulong)(VirtioIommuLayout.Head + VirtioIommuLayout.ProbeBody);
            for (int off = 0; off + 4 <= VirtioIommuLayout.ProbeSize;)
            {
                Context.Memory.TryReadU32(p + (ulong)off, out uint tl);
                ushort type = (ushort)(tl & 0xfff), plen = (ushort)(tl >> 16);
                if (type == VirtioIommuLayout.ProbeNone) break;
                if (type == VirtioIommuLayout.ProbeResvMem && plen >= 20)
                {
                    Context.Memory.Read(p + (ulong)off + 4, sub);
                    Context.Memory.TryReadU64(p + (ulong)off + 8, out ulong s);
                    Context.Memory.TryReadU64(p + (ulong)off + 16, out ulong e);
                    // viommu_add_resv_mem(): MSI windows are IOMMU_RESV_MSI with write/noexec/mmio, the rest reserved.
                    regions.Add(sub[0] == VirtioIommuLayout.ResvMemMsi
                        ? new ReservedRegion(s, e - s + 1, IommuProt.Write | IommuProt.NoExec | IommuProt.Mmio, ReservedRegionType.Msi)
                        : new ReservedRegion(s, e - s + 1, IommuProt.None, ReservedRegionType.Reserved));
                }
                off += 4 + plen;
            }
        }
        _resv[m.Device] = regions;
        return 0;
    }

    readonly Dictionary<Device, List<ReservedRegion>> _resv = new();

    /// <summary>viommu_get_resv_regions(): the PROBE regions, and a software MSI window when the device named none.</summary>
    public override void GetResvRegions(Device dev, List<ReservedRegion> regions)
    {
        base.GetResvRegions(dev, regions);
        var own = _resv.GetValueOrDefault(dev) ?? [];
        regions.AddRange(own);
        if (!own.Any(r => r.Type == ReservedRegionType.Msi)) regions.Add(SwMsiRegion());
    }

    /// <summary>viommu_attach_dev(): an ATTACH per endpoint ID (with F_BYPASS for an identity domain); the first
    /// endpoint of a domain gets the domain's existing mappings replayed (viommu_replay_mappings()).</summary>
    protected override int ProgramStream(Master m, IommuDomain d)
    {
        if (d.HwTag < 0)
        {
            int tag = AllocTag(d);
            if (tag < 0) return tag;
            d.HwTag = tag;
        }
        if (m.Domain is { } old && old != d && _endpoints.TryGetValue(old, out int n)) _endpoints[old] = n - 1;
        foreach (var id in m.State.Ids)
        {
            int slot = Begin(VirtioIommuRequestType.Attach, VirtioIommuLayout.AttachBody);
            var a = _ring + (ulong)slot;
            Context.Memory.TryWriteU32(a + VirtioIommuLayout.Head, (uint)d.HwTag);
            Context.Memory.TryWriteU32(a + VirtioIommuLayout.Head + 4, id);
            Context.Memory.TryWriteU32(a + VirtioIommuLayout.Head + 8, d.Type == IommuDomainType.Identity ? VirtioIommuLayout.AttachBypass : 0);
            if (Sync() != 0) return -Errno.EIO;
        }
        int eps = _endpoints.GetValueOrDefault(d);
        if (eps == 0 && d.Pgtable is VirtioIommuMappings tree)
        {
            foreach (var (s, e, p, prot) in tree.All()) QueueMap(d, s, e, p, prot);
            if (Sync() != 0) return -Errno.EIO;
        }
        _endpoints[d] = eps + 1;
        return 0;
    }

    protected override void OnRelease(Master m)
    {
        // viommu_detach_dev(): a DETACH per endpoint.
        if (m.Domain is not { } d) return;
        foreach (var id in m.State.Ids)
        {
            int slot = Begin(VirtioIommuRequestType.Detach, VirtioIommuLayout.AttachBody);
            Context.Memory.TryWriteU32(_ring + (ulong)slot + VirtioIommuLayout.Head, (uint)d.HwTag);
            Context.Memory.TryWriteU32(_ring + (ulong)slot + VirtioIommuLayout.Head + 4, id);
        }
        Sync();
        if (_endpoints.TryGetValue(d, out int n)) _endpoints[d] = n - 1;
    }

    /// <summary>viommu_map_pages(): into the driver's tree, then a MAP request when an endpoint uses the domain.</summary>
    public override int MapPages(IommuDomain d, ulong iova, ulong paddr, ulong pgsize, ulong pgcount, IommuProt prot, out ulong mapped)
    {
        mapped = 0;
        if (d.Pgtable is not VirtioIommuMappings tree) return -Errno.ENODEV;
        // map_flags: READ | WRITE, and MMIO only when the device offers VIRTIO_IOMMU_F_MMIO (not modelled: refused).
        prot &= IommuProt.Read | IommuProt.Write | IommuProt.Mmio;
        if ((prot & IommuProt.Mmio) != 0) return -Errno.EINVAL;
        ulong size = pgsize * pgcount;
        int ret = tree.Add(iova, iova + size - 1, paddr, prot);
        if (ret != 0) return ret;
        if (_endpoints.GetValueOrDefault(d) > 0) QueueMap(d, iova, iova + size - 1, paddr, prot);
        mapped = size;
        return 0;
    }

    /// <summary>viommu_unmap_pages(): whole mappings only (a partial unmap unmaps nothing), then an UNMAP request.</summary>
    public override ulong UnmapPages(IommuDomain d, ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather)
    {
        if (d.Pgtable is not VirtioIommuMappings tree) return 0;
        ulong size = pgsize * pgcount;
        ulong n = tree.Remove(iova, iova + size - 1);
        if (n < size) return 0;
        if (_endpoints.GetValueOrDefault(d) == 0) return n; // the device dropped the mappings at detach
        int slot = Begin(VirtioIommuRequestType.Unmap, VirtioIommuLayout.UnmapBody);
        var a = _ring + (ulong)slot;
        Context.Memory.TryWriteU32(a + VirtioIommuLayout.Head, (uint)d.HwTag);
        Context.Memory.TryWriteU64(a + VirtioIommuLayout.Head + 4, iova);
        Context.Memory.TryWriteU64(a + VirtioIommuLayout.Head + 12, iova + n - 1);
        gather.AddRange(iova, n);
        return n;
    }

    void QueueMap(IommuDomain d, ulong start, ulong end, ulong phys, IommuProt prot)
    {
        int slot = Begin(VirtioIommuRequestType.Map, VirtioIommuLayout.MapBody);
        var a = _ring + (ulong)slot;
        uint flags = ((prot & IommuProt.Read) != 0 ? VirtioIommuLayout.MapRead : 0) | ((prot & IommuProt.Write) != 0 ? VirtioIommuLayout.MapWrite : 0);
        Context.Memory.TryWriteU32(a + VirtioIommuLayout.Head, (uint)d.HwTag);
        Context.Memory.TryWriteU64(a + VirtioIommuLayout.Head + 4, start);
        Context.Memory.TryWriteU64(a + VirtioIommuLayout.Head + 12, end);
        Context.Memory.TryWriteU64(a + VirtioIommuLayout.Head + 20, phys);
        Context.Memory.TryWriteU32(a + VirtioIommuLayout.Head + 28, flags);
    }

    /// <summary>__viommu_add_req(): the next request buffer of the ring (a full ring is kicked first, as -ENOSPC
    /// makes the kernel sync and retry); returns its offset in the ring.</summary>
    int Begin(VirtioIommuRequestType type, int body)
    {
        if (_queued == Slots) Sync();
        int off = _next * SlotBytes;
        _next = (_next + 1) % Slots;
        int len = VirtioIommuLayout.Head + body + VirtioIommuLayout.Tail;
        Context.Memory.Fill(_ring + (ulong)off, (ulong)len, 0);
        Context.Memory.Write(_ring + (ulong)off, [(byte)type]);
        _pending[_queued++] = (off, len);
        return off;
    }

    /// <summary>viommu_sync_req(): kick the queue and wait for the device to complete every request; -EIO when one
    /// failed (viommu_get_req_errno()).</summary>
    int Sync()
    {
        if (_queued == 0) return 0;
        Kicks++;
        int ret = 0;
        for (int i = 0; i < _queued; i++)
        {
            var (off, len) = _pending[i];
            if (Device.Handle(_ring + (ulong)off, len) != VirtioIommuStatus.Ok) { RequestErrors++; ret = -Errno.EIO; }
        }
        _queued = 0;
        ChargeInvalidation(1, sync: true);
        return ret;
    }

    /// <summary>viommu_iotlb_sync_map(): the queued MAP requests go out now.</summary>
    public override int IotlbSyncMap(IommuDomain d, ulong iova, ulong size) => _endpoints.GetValueOrDefault(d) > 0 ? Sync() : 0;

    /// <summary>viommu_iotlb_sync(): kick the queued UNMAPs; the device invalidates what it cached.</summary>
    public override void InvalidateRange(IommuDomain d, ulong iova, ulong size, ulong granule, bool leaf) => Sync();

    /// <summary>viommu_flush_iotlb_all().</summary>
    public override void InvalidateDomain(IommuDomain d) => Sync();

    public override void DomainFree(IommuDomain d)
    {
        _endpoints.Remove(d);
        base.DomainFree(d);
    }

    /// <summary>The device's view of an endpoint: bypass, its domain's tree, or no domain (the device rejects DMA).</summary>
    public override StreamConfig FetchConfig(int port, uint streamId)
    {
        var tree = Device.TreeOf(streamId, out bool bypass);
        if (bypass) return new StreamConfig { Mode = StreamMode.Bypass, Domain = MasterOnPort(port)?.Domain };
        if (tree is null || !Device.IsAttached(streamId, out uint dom)) return new StreamConfig { Mode = StreamMode.Abort };
        return new StreamConfig { Mode = StreamMode.Translate, Tag = (int)dom, Table = tree, Domain = MasterOnPort(port)?.Domain };
    }

    /// <summary>Faults arrive on the event queue; viommu_fault_handler() only logs them (no report_iommu_fault()).</summary>
    protected override bool OnFault(Master? m, uint streamId, ulong iova, bool write, IommuFaultReason reason)
    {
        Faults.Add((streamId, iova, write));
        return false;
    }

    /// <summary>VIRTIO_IOMMU_T_FAULT events the device queued: endpoint, address, write.</summary>
    public List<(uint Endpoint, ulong Address, bool Write)> Faults { get; } = new();
}
