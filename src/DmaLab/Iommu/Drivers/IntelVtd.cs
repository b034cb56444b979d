using System.Numerics;
using DmaLab.Devices;
using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// Intel VT-d in legacy (non-scalable) mode (Linux: drivers/iommu/intel/iommu.c, dmar.c, qi). A root table
/// (one entry per bus) points at context tables (one entry per devfn) in simulated memory; a context entry
/// holds the second-level table pointer, address width and domain ID. Invalidation is queued: context-cache
/// and IOTLB descriptors followed by a wait descriptor. Faults go to the fault recording registers and are
/// logged by dmar_fault(), which does not call report_iommu_fault().
/// </summary>
public sealed class IntelVtd : IommuDriverBase
{
    /// <summary>Linux: IDA_START_DID = 2 (0 is reserved for caching mode, 1 = FLPT_DEFAULT_DID, also the legacy identity DID).</summary>
    public const int FirstDid = 2, FlptDefaultDid = 1;
    /// <summary>Fault reasons (VT-d spec Appendix A): 2 context not present, 5 PTE write not set, 6 PTE read not set, 4 beyond MGAW.</summary>
    public const int FrContextNotPresent = 2, FrBeyondMgaw = 4, FrWrite = 5, FrRead = 6, FrBadPte = 0xc;

    /// <summary>One fault recording register: source ID, reason, address, write.</summary>
    public readonly record struct FaultRecord(ushort Sid, int Reason, ulong Address, bool Write);

    readonly PhysAddr _root;
    readonly PhysAddr _queue;
    uint _qtail;
    uint _waitSeq;
    readonly PhysAddr _waitStatus;
    readonly IdBitmap _dids;
    readonly Dictionary<ulong, IommuDomain> _byRoot = new();
    readonly int _maxAmask;
    public readonly List<FaultRecord> FaultRecords = new();
    public long ContextInvalidations, IotlbPsi, IotlbDsi, IotlbGlobal, Waits;

    /// <param name="maxAmask">CAP.MAMV, the largest address mask a page-selective invalidation may use (QEMU: 18).</param>
    /// <param name="domainIds">CAP.ND decoded (QEMU: ND=6 → 65536).</param>
    public IntelVtd(IommuDevice instance, IommuDriverContext context, int maxAmask = 18, int domainIds = 1 << 16)
        : base(instance, context, new DriverLimits(0x4020_1000, 39, 39, domainIds,
            new IotlbGeometry(1024, 8, IotlbReplacement.Lru, 64, "QEMU hw/i386/intel_iommu.c VTD_IOTLB_MAX_SIZE 1024 (hashed); modelled 128 sets × 8 ways"),
            "QEMU q35 intel-iommu CAP 0xd2008c22260206: MGAW 39 (SAGAW 3-level), SLLPS 2M|1G, MAMV 18, ND 65536"))
    {
        _maxAmask = maxAmask;
        _dids = new IdBitmap(FirstDid, domainIds);
        _root = Alloc();
        _queue = Alloc();
        _waitStatus = Alloc();
    }

    public override string DriverName => "dmar";
    public PhysAddr RootTable => _root;

    PhysAddr Alloc()
    {
        if (!Context.Pages.TryAllocPages(0, Gfp.Kernel | Gfp.Zero, out var p)) throw new InvalidOperationException($"{Instance.Name}: no memory for VT-d tables");
        Context.Memory.Fill(p, 4096, 0);
        return p;
    }

    protected override IoPgtableFormat PgtableFormat(IommuDomain d) => IoPgtableFormat.IntelSecondLevel;
    protected override int AllocTag(IommuDomain d) => _dids.Alloc();
    protected override void FreeTag(IommuDomain d) => _dids.Free(d.HwTag);

    int Levels => Ias switch { <= 39 => 3, <= 48 => 4, _ => 5 };
    /// <summary>Context entry AW field: 1 = 39-bit 3-level, 2 = 48-bit 4-level, 3 = 57-bit 5-level.</summary>
    int Aw => Levels - 2;

    protected override int Finalise(IommuDomain d)
    {
        if (d.Pgtable is not null) return 0;
        int tag = AllocTag(d);
        if (tag < 0) return tag;
        d.HwTag = tag;
        int ret = AllocPgtable(d, IoPgtableFormat.IntelSecondLevel, Ias, Oas, Levels);
        if (ret == 0) _byRoot[d.Pgtable!.Root.Value] = d;
        return ret;
    }

    public override void DomainFree(IommuDomain d)
    {
        if (d.Pgtable is not null) _byRoot.Remove(d.Pgtable.Root.Value);
        base.DomainFree(d);
    }

    PhysAddr ContextEntry(ushort rid, bool create)
    {
        var re = _root + (ulong)(rid >> 8) * 16;
        Context.Memory.TryReadU64(re, out ulong lo);
        if ((lo & 1) == 0)
        {
            if (!create) return default;
            var ct = Alloc();
            Context.Memory.TryWriteU64(re, ct.Value | 1);
            lo = ct.Value | 1;
        }
        return new PhysAddr((lo & ~0xfffUL) + (ulong)(rid & 0xff) * 16);
    }

    /// <summary>
    /// Linux: domain_context_mapping_one() / device_block_translation(). Translated: P, TT = 00, SLPTPTR, AW, DID.
    /// Identity: TT = 10 (pass-through) with FLPT_DEFAULT_DID. Blocked: the entry is cleared. Then a device-selective
    /// context-cache invalidation, a domain-selective IOTLB invalidation and a wait.
    /// </summary>
    protected override int ProgramStream(Master m, IommuDomain d)
    {
        foreach (var id in m.State.Ids)
        {
            ushort rid = (ushort)id;
            var ce = ContextEntry(rid, create: true);
            Context.Memory.TryReadU64(ce + 8, out ulong oldHi);
            ushort oldDid = (ushort)(oldHi >> 8);
            ulong lo = 0, hi = 0;
            if (d.Type == IommuDomainType.Identity)
            {
                lo = 1UL | (0b10UL << 2);
                hi = (uint)Aw | ((ulong)FlptDefaultDid << 8);
            }
            else if (d.IsPaging)
            {
                lo = 1UL | (d.Pgtable!.Root.Value & ~0xfffUL);
                ulong aw = d.Pgtable.Config.Registers.TryGetValue("AGAW", out var agaw) ? agaw : (uint)Aw;
                hi = aw | ((ulong)(ushort)d.HwTag << 8);
            }
            Context.Memory.TryWriteU64(ce + 8, hi);
            Context.Memory.TryWriteU64(ce, lo);
            Submit(VtdDescriptors.ContextCache(VtdDescriptors.GranSelective, oldDid, rid));
            if (oldDid != 0) Submit(VtdDescriptors.Iotlb(VtdDescriptors.GranDomain, oldDid));
            SubmitWait();
        }
        return 0;
    }

    /// <summary>The hardware's root/context walk on a context-cache miss.</summary>
    public override StreamConfig FetchConfig(int port, uint streamId)
    {
        var ce = ContextEntry((ushort)streamId, create: false);
        if (ce.Value == 0 || !Context.Memory.TryReadU64(ce, out ulong lo) || (lo & 1) == 0) return new StreamConfig { Mode = StreamMode.Abort };
        Context.Memory.TryReadU64(ce + 8, out ulong hi);
        int did = (int)((hi >> 8) & 0xffff);
        int tt = (int)((lo >> 2) & 3);
        if (tt == 0b10) return new StreamConfig { Mode = StreamMode.Bypass, Tag = did };
        if (tt != 0) return new StreamConfig { Mode = StreamMode.Invalid };
        var d = _byRoot.GetValueOrDefault(lo & ~0xfffUL);
        return new StreamConfig { Mode = StreamMode.Translate, Tag = did, Table = d?.Pgtable, Domain = d };
    }

    void Submit((ulong Lo, ulong Hi) desc)
    {
        var slot = _queue + (ulong)(_qtail++ % 256) * 16;
        Context.Memory.TryWriteU64(slot, desc.Lo);
        Context.Memory.TryWriteU64(slot + 8, desc.Hi);
        Execute(desc.Lo, desc.Hi);
        ChargeInvalidation(1, sync: false);
    }

    void SubmitWait()
    {
        Submit(VtdDescriptors.Wait(++_waitSeq, _waitStatus.Value));
        Context.Clock.Advance(Context.Costs.IotlbInvalidateSyncNs);
    }

    /// <summary>The hardware's execution of a descriptor.</summary>
    void Execute(ulong lo, ulong hi)
    {
        int gran = (int)((lo >> 4) & 3);
        int did = (int)((lo >> 16) & 0xffff);
        switch (VtdDescriptors.TypeOf(lo))
        {
            case VtdDescriptors.TypeContextCache:
                ContextInvalidations++;
                if (gran == VtdDescriptors.GranSelective) Hw.InvalidateStreamId((uint)((lo >> 32) & 0xffff));
                else Hw.InvalidateAllStreams();
                break;
            case VtdDescriptors.TypeIotlb:
                if (gran == VtdDescriptors.GranSelective)
                {
                    IotlbPsi++;
                    int am = (int)(hi & 0x3f);
                    HwInvalidateVa(did, hi & ~0xfffUL, 4096UL << am, leaf: (hi & (1 << 6)) != 0);
                }
                else if (gran == VtdDescriptors.GranDomain) { IotlbDsi++; HwInvalidateTag(did); }
                else { IotlbGlobal++; Hw.Iotlb.InvalidateAll(); Hw.WalkCache.InvalidateAll(); }
                break;
            case VtdDescriptors.TypeWait:
                Waits++;
                Context.Memory.TryWriteU32(new PhysAddr(hi & ~3UL), (uint)(lo >> 32));
                break;
        }
    }

    /// <summary>
    /// Linux: calculate_psi_aligned_address() + qi_flush_iotlb(): a page-selective invalidation covering the range
    /// with the smallest aligned mask; a mask above CAP.MAMV falls back to domain-selective.
    /// </summary>
    public override void InvalidateRange(IommuDomain d, ulong iova, ulong size, ulong granule, bool leaf)
    {
        var (addr, mask) = PsiAlignedAddress(iova, iova + size - 1);
        if (mask > _maxAmask) Submit(VtdDescriptors.Iotlb(VtdDescriptors.GranDomain, (ushort)d.HwTag));
        else Submit(VtdDescriptors.Iotlb(VtdDescriptors.GranSelective, (ushort)d.HwTag, addr, mask, ih: leaf));
        SubmitWait();
    }

    /// <summary>Linux: calculate_psi_aligned_address(start, end) → (aligned address, mask).</summary>
    public static (ulong Address, int Mask) PsiAlignedAddress(ulong start, ulong end)
    {
        ulong pages = ((end | 0xfff) + 1 - (start & ~0xfffUL)) >> 12;
        ulong aligned = BitOperations.RoundUpToPowerOf2(pages);
        ulong bitmask = aligned - 1;
        int mask = BitOperations.Log2(aligned);
        ulong pfn = start >> 12;
        if ((bitmask & pfn) != 0)
        {
            ulong endPfn = pfn + pages - 1;
            ulong shared = ~(pfn ^ endPfn) & ~bitmask;
            mask = shared != 0 ? BitOperations.TrailingZeroCount(shared) : 52;
        }
        ulong align = mask >= 52 ? 0 : ~((4096UL << mask) - 1);
        return (start & align, mask);
    }

    public override void InvalidateDomain(IommuDomain d)
    {
        Submit(VtdDescriptors.Iotlb(VtdDescriptors.GranDomain, (ushort)d.HwTag));
        SubmitWait();
    }

    /// <summary>Linux: dmar_fault() → dmar_fault_do_one(): latched in a fault recording register and logged.</summary>
    protected override bool OnFault(Master? m, uint streamId, ulong iova, bool write, IommuFaultReason reason)
    {
        int fr = reason switch
        {
            IommuFaultReason.Abort or IommuFaultReason.BadConfig => FrContextNotPresent,
            IommuFaultReason.AddressSize => FrBeyondMgaw,
            IommuFaultReason.External => FrBadPte,
            _ => write ? FrWrite : FrRead,
        };
        FaultRecords.Add(new FaultRecord((ushort)streamId, fr, iova & ~0xfffUL, write));
        return false;
    }

    /// <summary>Linux: intel_iommu_get_resv_regions(): the interrupt-remapping window 0xfee00000–0xfeefffff (IOMMU_RESV_MSI) plus RMRR-like regions.</summary>
    public override void GetResvRegions(Device dev, List<ReservedRegion> regions)
    {
        base.GetResvRegions(dev, regions);
        regions.Add(new ReservedRegion(0xfee0_0000, 0x10_0000, IommuProt.None, ReservedRegionType.Msi));
    }
}
