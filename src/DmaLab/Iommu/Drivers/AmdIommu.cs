using DmaLab.Devices;
using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// AMD IOMMU with v1 page tables (Linux: drivers/iommu/amd/iommu.c, init.c). A device table in simulated memory
/// (32-byte DTEs indexed by requester ID) holds each device's mode, table root and domain ID; invalidation goes
/// through the command buffer (INVALIDATE_DEVTAB_ENTRY, INVALIDATE_IOMMU_PAGES, COMPLETION_WAIT). IO page faults
/// are logged to the event log and passed to report_iommu_fault() (amd_iommu_report_page_fault()).
/// </summary>
public sealed class AmdIommu : IommuDriverBase
{
    const int DteBytes = 32;
    /// <summary>Linux: EVENT_TYPE_IO_FAULT; EVENT_FLAG_RW, EVENT_FLAG_PR.</summary>
    public const int EventIoFault = 0x2, EventFlagRw = 0x020, EventFlagPr = 0x010;

    public readonly record struct Event(int Type, ushort DevId, ushort DomId, ulong Address, int Flags);

    readonly PhysAddr _devTable, _cmdBuf, _evtLog, _semaphore;
    uint _cmdTail, _evtTail;
    ulong _waitData;
    readonly IdBitmap _domIds;
    readonly Dictionary<ulong, IommuDomain> _byRoot = new();
    readonly Dictionary<IommuDomain, ulong> _rootOf = new();
    public readonly List<Event> EventLog = new();
    public long InvalidatePagesCmds, InvalidateDteCmds, CompletionWaits;

    /// <summary>AMD_IOMMU_PGSIZES: every power of two from 4 KiB up except 512 GiB (Linux: amd_iommu_types.h).</summary>
    public const ulong PgSizes = ~0xfffUL & ~(2UL << 38);

    public AmdIommu(IommuDevice instance, IommuDriverContext context)
        : base(instance, context, new DriverLimits(PgSizes, 48, 48, 1 << 16,
            new IotlbGeometry(512, 8, IotlbReplacement.Lru, 64, "not published by AMD; QEMU amd_iommu.c uses a hashed IOTLB — modelled 64 sets × 8 ways"),
            "amd_iommu_types.h AMD_IOMMU_PGSIZES; 4-level v1 tables (48-bit IOVA); 16-bit domain IDs"))
    {
        _domIds = new IdBitmap(1, 1 << 16);
        _devTable = Alloc(9);   // 65536 DTEs × 32 bytes = 2 MiB
        _cmdBuf = Alloc(0);
        _evtLog = Alloc(0);
        _semaphore = Alloc(0);
        // init_iommu_one_late(): an IOMMU that caches non-present entries is a virtual one; unmaps must not be
        // deferred, and every new mapping is flushed (amd_iommu_np_cache).
        if (instance.Spec.NpCache)
        {
            NpCache = true;
            context.Core.SetDmaStrict("AMD-Vi: Using strict mode due to virtualization (NpCache)");
        }
    }

    /// <summary>Linux: amd_iommu_np_cache: the IOMMU reports NpCache (an emulated AMD-Vi in a VM).</summary>
    public bool NpCache { get; }
    /// <summary>INVALIDATE_IOMMU_PAGES commands sent after maps because of NpCache.</summary>
    public long NpCacheFlushes { get; private set; }

    public override string DriverName => "AMD-Vi";
    public PhysAddr DeviceTable => _devTable;

    PhysAddr Alloc(int order)
    {
        if (!Context.Pages.TryAllocPages(order, Gfp.Kernel | Gfp.Zero, out var p)) throw new InvalidOperationException($"{Instance.Name}: no memory for AMD IOMMU tables");
        Context.Memory.Fill(p, 4096UL << order, 0);
        return p;
    }

    protected override IoPgtableFormat PgtableFormat(IommuDomain d) => IoPgtableFormat.AmdV1;
    protected override int AllocTag(IommuDomain d) => _domIds.Alloc();
    protected override void FreeTag(IommuDomain d) => _domIds.Free(d.HwTag);

    protected override int Finalise(IommuDomain d)
    {
        int ret = base.Finalise(d);
        if (ret == 0 && d.Pgtable is not null) Track(d);
        return ret;
    }

    void Track(IommuDomain d)
    {
        if (_rootOf.TryGetValue(d, out var old)) _byRoot.Remove(old);
        _byRoot[d.Pgtable!.Root.Value] = d;
        _rootOf[d] = d.Pgtable.Root.Value;
    }

    public override void DomainFree(IommuDomain d)
    {
        if (_rootOf.Remove(d, out var r)) _byRoot.Remove(r);
        base.DomainFree(d);
    }

    /// <summary>
    /// Linux: set_dte_entry(): V, TV, Mode = table levels, root pointer, IR/IW, domain ID. Identity is Mode 0 with
    /// IR/IW set (translation disabled, access allowed); blocked is Mode 0 without IR/IW.
    /// </summary>
    protected override int ProgramStream(Master m, IommuDomain d)
    {
        foreach (var id in m.State.Ids) WriteDte((ushort)id, d);
        SubmitWait();
        return 0;
    }

    void WriteDte(ushort devid, IommuDomain d)
    {
        var dte = _devTable + (ulong)devid * DteBytes;
        Context.Memory.TryReadU64(dte + 8, out ulong oldD1);
        ulong d0 = 1UL | 2UL, d1 = 0;
        if (d.Type == IommuDomainType.Identity) d0 |= (1UL << 61) | (1UL << 62);
        else if (d.IsPaging)
        {
            var t = d.Pgtable!;
            // the format states its DTE (mode = levels in bits 11:9); fall back to the configured level count
            ulong mode = t.Config.Registers.TryGetValue("DTE0", out var dte0) ? (dte0 >> 9) & 7 : (ulong)(t.Config.Levels == 0 ? 4 : t.Config.Levels);
            d0 |= ((mode & 7) << 9) | (t.Root.Value & 0x000f_ffff_ffff_f000UL) | (1UL << 61) | (1UL << 62);
            d1 = (ushort)d.HwTag;
        }
        Context.Memory.TryWriteU64(dte + 8, d1);
        Context.Memory.TryWriteU64(dte, d0);
        Submit(AmdIommuCommands.InvalidateDte(devid));
        if ((ushort)oldD1 != 0) Submit(AmdIommuCommands.InvalidatePages((ushort)oldD1, 0, ulong.MaxValue, pde: true));
    }

    /// <summary>The hardware's DTE fetch and decode.</summary>
    public override StreamConfig FetchConfig(int port, uint streamId)
    {
        var dte = _devTable + (ulong)(streamId & 0xffff) * DteBytes;
        Context.Memory.TryReadU64(dte, out ulong d0);
        Context.Memory.TryReadU64(dte + 8, out ulong d1);
        if ((d0 & 1) == 0 || (d0 & 2) == 0) return new StreamConfig { Mode = StreamMode.Bypass }; // V=0 or TV=0: untranslated
        ulong mode = (d0 >> 9) & 7;
        bool ir = (d0 & (1UL << 61)) != 0, iw = (d0 & (1UL << 62)) != 0;
        if (mode == 0) return new StreamConfig { Mode = ir && iw ? StreamMode.Bypass : StreamMode.Abort };
        var d = _byRoot.GetValueOrDefault(d0 & 0x000f_ffff_ffff_f000UL);
        return new StreamConfig { Mode = StreamMode.Translate, Tag = (int)(d1 & 0xffff), Table = d?.Pgtable, Domain = d };
    }

    /// <summary>The v1 table may grow a level on map (increase_address_space()): the DTEs then get the new root. With
    /// NpCache the new range is flushed too (amd_iommu_iotlb_sync_map() → domain_flush_np_cache()).</summary>
    public override int IotlbSyncMap(IommuDomain d, ulong iova, ulong size)
    {
        if (d.Pgtable is { } t && _rootOf.TryGetValue(d, out var root) && root != t.Root.Value)
        {
            Track(d);
            foreach (var m in Masters)
                if (m.Domain == d) foreach (var id in m.State.Ids) WriteDte((ushort)id, d);
            SubmitWait();
        }
        if (NpCache && size != 0)
        {
            long before = InvalidatePagesCmds;
            InvalidateRange(d, iova, size, 4096, leaf: true);
            NpCacheFlushes += InvalidatePagesCmds - before;
        }
        return 0;
    }

    void Submit((uint W0, uint W1, uint W2, uint W3) c)
    {
        var slot = _cmdBuf + (ulong)(_cmdTail++ % 256) * 16;
        Context.Memory.TryWriteU64(slot, c.W0 | ((ulong)c.W1 << 32));
        Context.Memory.TryWriteU64(slot + 8, c.W2 | ((ulong)c.W3 << 32));
        Execute(c);
        ChargeInvalidation(1, sync: false);
    }

    void SubmitWait()
    {
        Submit(AmdIommuCommands.CompletionWaitCmd(_semaphore.Value, ++_waitData));
        Context.Clock.Advance(Context.Costs.IotlbInvalidateSyncNs);
    }

    /// <summary>The hardware's execution of a command.</summary>
    void Execute((uint W0, uint W1, uint W2, uint W3) c)
    {
        switch ((int)(c.W1 >> 28))
        {
            case AmdIommuCommands.InvalidateDevtabEntry:
                InvalidateDteCmds++;
                Hw.InvalidateStreamId(c.W0 & 0xffff);
                break;
            case AmdIommuCommands.InvalidateIommuPages:
            {
                InvalidatePagesCmds++;
                int dom = (int)(c.W1 & 0xffff);
                var (start, size) = AmdIommuCommands.DecodeRange(c.W2 | ((ulong)c.W3 << 32));
                bool pde = (c.W2 & 2) != 0;
                if (size == ulong.MaxValue) HwInvalidateTag(dom);
                else HwInvalidateVa(dom, start, size, leaf: !pde);
                break;
            }
            case AmdIommuCommands.CompletionWait:
                CompletionWaits++;
                Context.Memory.TryWriteU64(new PhysAddr(c.W0 & ~7u | ((ulong)(c.W1 & 0xfffff) << 32)), c.W2 | ((ulong)c.W3 << 32));
                break;
        }
    }

    /// <summary>Linux: amd_iommu_domain_flush_pages() → one INVALIDATE_IOMMU_PAGES with the encoded range, then
    /// COMPLETION_WAIT. With NpCache (a VM) the range goes as naturally aligned power-of-two pieces instead, each the
    /// smaller of the address's alignment and the largest power of two that fits, so the hypervisor never re-syncs
    /// PTEs that did not change.</summary>
    public override void InvalidateRange(IommuDomain d, ulong iova, ulong size, ulong granule, bool leaf)
    {
        if (!NpCache || size >= 1UL << 52)
        {
            Submit(AmdIommuCommands.InvalidatePages((ushort)d.HwTag, iova, size, pde: !leaf));
            SubmitWait();
            return;
        }
        while (size != 0)
        {
            int sizeAlign = 63 - System.Numerics.BitOperations.LeadingZeroCount(size);
            int align = iova != 0 ? Math.Min(System.Numerics.BitOperations.TrailingZeroCount(iova), sizeAlign) : sizeAlign;
            ulong piece = 1UL << align;
            Submit(AmdIommuCommands.InvalidatePages((ushort)d.HwTag, iova, piece, pde: !leaf));
            iova += piece;
            size -= piece;
        }
        SubmitWait();
    }

    /// <summary>Linux: amd_iommu_domain_flush_all(): all pages of the domain, PDEs included.</summary>
    public override void InvalidateDomain(IommuDomain d)
    {
        Submit(AmdIommuCommands.InvalidatePages((ushort)d.HwTag, 0, ulong.MaxValue, pde: true));
        SubmitWait();
    }

    /// <summary>Logs IO_PAGE_FAULT to the event log; Linux's amd_iommu_report_page_fault() then calls report_iommu_fault() when the device has a domain.</summary>
    protected override bool OnFault(Master? m, uint streamId, ulong iova, bool write, IommuFaultReason reason)
    {
        int flags = (write ? EventFlagRw : 0) | (reason == IommuFaultReason.Permission ? EventFlagPr : 0);
        ushort dom = (ushort)(m?.Domain?.HwTag is int t && t > 0 ? t : 0);
        var slot = _evtLog + (ulong)(_evtTail++ % 256) * 16;
        Context.Memory.TryWriteU64(slot, (streamId & 0xffff) | ((ulong)(((uint)flags << 16) | ((uint)EventIoFault << 28)) << 32));
        Context.Memory.TryWriteU64(slot + 8, iova);
        EventLog.Add(new Event(EventIoFault, (ushort)streamId, dom, iova, flags));
        return m?.Domain is not null;
    }

    /// <summary>Linux: amd_iommu_get_resv_regions(): the MSI window 0xfee00000–0xfeefffff and the HyperTransport range 0xfd00000000–0xffffffffff reserved.</summary>
    public override void GetResvRegions(Device dev, List<ReservedRegion> regions)
    {
        base.GetResvRegions(dev, regions);
        regions.Add(new ReservedRegion(0xfee0_0000, 0x10_0000, IommuProt.None, ReservedRegionType.Msi));
        regions.Add(new ReservedRegion(0xfd_0000_0000, 0x3_0000_0000, IommuProt.None, ReservedRegionType.Reserved));
    }
}
