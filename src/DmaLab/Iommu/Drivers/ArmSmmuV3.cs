using DmaLab.Devices;
using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// ARM SMMUv3 (Linux: drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c). A two-level stream table and per-master
/// context-descriptor tables live in simulated memory; the hardware decodes them on a configuration-cache miss.
/// Invalidation goes through a command queue in memory (CMD_CFGI_STE, CMD_TLBI_NH_VA, CMD_TLBI_NH_ASID,
/// CMD_SYNC) and faults land in the event queue. As in the kernel, ordinary (non-stall) faults are only logged
/// by the event-queue thread, not passed to report_iommu_fault().
/// </summary>
public sealed class ArmSmmuV3 : IommuDriverBase
{
    const int StrtabSplit = 8;          // Linux: STRTAB_SPLIT
    const int SteBytes = 64, CdBytes = 64, CmdBytes = 16, EvtBytes = 32;
    /// <summary>Linux: CMDQ_MAX_TLBI_OPS = 1 &lt;&lt; (PAGE_SHIFT - 3): above this many per-page commands, invalidate the ASID.</summary>
    const ulong MaxTlbiOps = 1 << (12 - 3);

    readonly int _sidBits;
    readonly PhysAddr _strtab;
    readonly PhysAddr _cmdq, _evtq;
    uint _cmdqProd, _evtqProd;
    readonly IdBitmap _asids;
    readonly Dictionary<ulong, IommuDomain> _byRoot = new();
    public readonly List<SmmuV3Event> Events = new();
    readonly long[] _opCounts = new long[256];

    public ArmSmmuV3(IommuDevice instance, IommuDriverContext context, int sidBits = 16)
        : base(instance, context, new DriverLimits(0x4020_1000 | 0x2001_0000 | 0x0200_4000, 48, 44, 1 << 16,
            new IotlbGeometry(256, 4, IotlbReplacement.Lru, 64, "QEMU hw/arm/smmu-common.c SMMU_IOTLB_MAX_SIZE 256 (hashed); modelled 64 sets × 4 ways"),
            "IDR5 GRAN4K/16K/64K → 4K|2M|1G, 16K|32M, 64K|512M (arm_smmu_device_hw_probe()); OAS 44 as QEMU virt; 16-bit ASIDs"))
    {
        _sidBits = sidBits;
        _asids = new IdBitmap(1, 1 << 16);
        int l1Bytes = (1 << Math.Max(0, sidBits - StrtabSplit)) * 8;
        _strtab = AllocZeroed(OrderFor(l1Bytes));
        _cmdq = AllocZeroed(0);
        _evtq = AllocZeroed(0);
    }

    public override string DriverName => "arm-smmu-v3";
    public long CommandCount(SmmuV3Opcode op) => _opCounts[(byte)op];
    public PhysAddr StreamTableBase => _strtab;

    static int OrderFor(int bytes) { int o = 0; while ((4096 << o) < bytes) o++; return o; }

    PhysAddr AllocZeroed(int order)
    {
        if (!Context.Pages.TryAllocPages(order, Mm.Gfp.Kernel | Mm.Gfp.Zero, out var p))
            throw new InvalidOperationException($"{Instance.Name}: no memory for SMMUv3 tables (order {order})");
        Context.Memory.Fill(p, 4096UL << order, 0);
        return p;
    }

    protected override IoPgtableFormat PgtableFormat(IommuDomain d) => IoPgtableFormat.ArmLpaeS1;
    protected override int AllocTag(IommuDomain d) => _asids.Alloc();
    protected override void FreeTag(IommuDomain d) => _asids.Free(d.HwTag);

    protected override int Finalise(IommuDomain d)
    {
        int ret = base.Finalise(d);
        if (ret == 0 && d.Pgtable is not null) _byRoot[d.Pgtable.Root.Value] = d;
        return ret;
    }

    public override void DomainFree(IommuDomain d)
    {
        if (d.Pgtable is not null) _byRoot.Remove(d.Pgtable.Root.Value);
        if (d.IsPaging && d.HwTag >= 0) IssueTlbiAsid(d.HwTag, sync: true);
        base.DomainFree(d);
    }

    sealed class V3Master(Device d, DevIommu s, int[] p) : Master(d, s, p)
    {
        public PhysAddr CdTable;
    }

    protected override Master CreateMaster(Device dev, DevIommu state, int[] ports) => new V3Master(dev, state, ports);

    /// <summary>Linux: arm_smmu_insert_master(): a stream ID may belong to one master only; arm_smmu_init_l2_strtab() on demand.</summary>
    protected override int OnProbe(Master master)
    {
        foreach (var sid in master.State.Ids)
        {
            if (sid >> _sidBits != 0) return -Errno.ERANGE;
            foreach (var other in Masters)
                if (other.State.Ids.Contains(sid)) return -Errno.EEXIST;
        }
        foreach (var sid in master.State.Ids) EnsureL2(sid);
        ((V3Master)master).CdTable = AllocZeroed(0);
        return 0;
    }

    protected override void OnRelease(Master master)
    {
        var m = (V3Master)master;
        foreach (var sid in m.State.Ids) WriteSte(sid, 0, 0);
        Context.Pages.FreePages(m.CdTable, 0);
    }

    void EnsureL2(uint sid)
    {
        var l1 = _strtab + (ulong)(sid >> StrtabSplit) * 8;
        Context.Memory.TryReadU64(l1, out ulong desc);
        if ((desc & 0x000f_ffff_ffff_ffc0UL) != 0) return;
        var l2 = AllocZeroed(OrderFor((1 << StrtabSplit) * SteBytes));
        // L1STD: Span [4:0] = STRTAB_SPLIT + 1, L2Ptr [51:6]
        Context.Memory.TryWriteU64(l1, (l2.Value & 0x000f_ffff_ffff_ffc0UL) | (StrtabSplit + 1));
    }

    PhysAddr SteAddr(uint sid)
    {
        Context.Memory.TryReadU64(_strtab + (ulong)(sid >> StrtabSplit) * 8, out ulong desc);
        ulong l2 = desc & 0x000f_ffff_ffff_ffc0UL;
        return l2 == 0 ? default : new PhysAddr(l2 + (sid & ((1u << StrtabSplit) - 1)) * SteBytes);
    }

    void WriteSte(uint sid, ulong d0, ulong d1)
    {
        var ste = SteAddr(sid);
        if (ste.Value == 0) return;
        Context.Memory.TryWriteU64(ste + 8, d1);
        Context.Memory.TryWriteU64(ste, d0);
        Issue(new SmmuV3Command(SmmuV3Opcode.CfgiSte, sid, 0, 0, Leaf: true));
    }

    /// <summary>
    /// Linux: arm_smmu_attach_dev() → arm_smmu_write_cd_entry() + arm_smmu_install_ste_for_dev(). STE.Config:
    /// abort (0b000) for blocked, bypass (0b100) for identity, S1 translate (0b101) pointing at the master's CD table;
    /// CD[0] carries T0SZ, TG0 = 4K, IPS, AA64, R, A, V, the ASID, TTB0 and MAIR (IHI0070 §5.2, §5.4).
    /// </summary>
    protected override int ProgramStream(Master master, IommuDomain d)
    {
        var m = (V3Master)master;
        ulong cfg;
        if (d.Type == IommuDomainType.Identity) cfg = 0b100;
        else if (d.Type == IommuDomainType.Blocked) cfg = 0b000;
        else
        {
            var t = d.Pgtable!;
            ulong ips = Oas switch { <= 32 => 0, <= 36 => 1, <= 40 => 2, <= 42 => 3, <= 44 => 4, <= 48 => 5, _ => 6 };
            ulong cd0 = (ulong)(64 - t.Config.Ias) | (0b01UL << 8) | (0b01UL << 10) | (0b11UL << 12) | (1UL << 30) | (1UL << 31)
                        | (ips << 32) | (1UL << 41) | (1UL << 45) | (1UL << 46) | (1UL << 47) | ((ulong)(ushort)d.HwTag << 48);
            ulong ttb0 = t.Config.Registers.GetValueOrDefault("TTBR0", t.Root.Value) & 0x000f_ffff_ffff_fff0UL;
            var cd = m.CdTable;
            Context.Memory.TryWriteU64(cd + 8, ttb0);
            Context.Memory.TryWriteU64(cd + 24, t.Config.Registers.GetValueOrDefault("MAIR"));
            Context.Memory.TryWriteU64(cd, cd0);
            foreach (var sid in m.State.Ids) Issue(new SmmuV3Command(SmmuV3Opcode.CfgiCd, sid, 0, 0, Leaf: true));
            cfg = 0b101;
        }
        ulong d0 = 1UL | (cfg << 1) | (cfg == 0b101 ? m.CdTable.Value & 0x000f_ffff_ffff_ffc0UL : 0);
        foreach (var sid in m.State.Ids) WriteSte(sid, d0, 0);
        Issue(new SmmuV3Command(SmmuV3Opcode.CmdSync, 0, 0, 0, false));
        return 0;
    }

    /// <summary>The hardware's STE/CD fetch and decode (configuration-cache miss).</summary>
    public override StreamConfig FetchConfig(int port, uint streamId)
    {
        var ste = SteAddr(streamId);
        if (ste.Value == 0 || !Context.Memory.TryReadU64(ste, out ulong d0) || (d0 & 1) == 0) return new StreamConfig { Mode = StreamMode.Invalid };
        ulong cfg = (d0 >> 1) & 7;
        if (cfg == 0b000) return new StreamConfig { Mode = StreamMode.Abort };
        if (cfg == 0b100) return new StreamConfig { Mode = StreamMode.Bypass };
        if (cfg != 0b101) return new StreamConfig { Mode = StreamMode.Invalid };
        var cdAddr = new PhysAddr(d0 & 0x000f_ffff_ffff_ffc0UL);
        if (!Context.Memory.TryReadU64(cdAddr, out ulong cd0) || (cd0 & (1UL << 31)) == 0) return new StreamConfig { Mode = StreamMode.Invalid };
        Context.Memory.TryReadU64(cdAddr + 8, out ulong ttb0);
        int asid = (int)(cd0 >> 48);
        var d = _byRoot.GetValueOrDefault(ttb0 & 0x000f_ffff_ffff_f000UL);
        return new StreamConfig { Mode = StreamMode.Translate, Tag = asid, Table = d?.Pgtable, Domain = d };
    }

    void Issue(in SmmuV3Command cmd)
    {
        var (d0, d1) = cmd.Encode();
        var slot = _cmdq + (ulong)(_cmdqProd++ % (4096 / CmdBytes)) * CmdBytes;
        Context.Memory.TryWriteU64(slot, d0);
        Context.Memory.TryWriteU64(slot + 8, d1);
        _opCounts[(byte)cmd.Opcode]++;
        // the hardware consumes in order; the model applies each command as it is queued
        switch (cmd.Opcode)
        {
            case SmmuV3Opcode.CfgiSte: case SmmuV3Opcode.CfgiCd: Hw.InvalidateStreamId(cmd.Sid); break;
            case SmmuV3Opcode.TlbiNhAsid: HwInvalidateTag(cmd.Asid); break;
            case SmmuV3Opcode.TlbiNsnhAll: Hw.Iotlb.InvalidateAll(); Hw.WalkCache.InvalidateAll(); break;
        }
        ChargeInvalidation(1, cmd.Opcode == SmmuV3Opcode.CmdSync);
    }

    void IssueTlbiAsid(int asid, bool sync)
    {
        Issue(new SmmuV3Command(SmmuV3Opcode.TlbiNhAsid, 0, (ushort)asid, 0, false));
        if (sync) Issue(new SmmuV3Command(SmmuV3Opcode.CmdSync, 0, 0, 0, false));
    }

    /// <summary>
    /// Linux: __arm_smmu_tlb_inv_range() without range invalidation: one CMD_TLBI_NH_VA per granule, then CMD_SYNC;
    /// a range of CMDQ_MAX_TLBI_OPS granules or more invalidates the whole ASID instead.
    /// </summary>
    public override void InvalidateRange(IommuDomain d, ulong iova, ulong size, ulong granule, bool leaf)
    {
        if (granule == 0) granule = 4096;
        if (size >= MaxTlbiOps * granule) { IssueTlbiAsid(d.HwTag, sync: true); return; }
        ulong end = iova + size;
        for (ulong a = iova; a < end; a += granule)
        {
            var cmd = new SmmuV3Command(SmmuV3Opcode.TlbiNhVa, 0, (ushort)d.HwTag, a, leaf);
            var (d0, d1) = cmd.Encode();
            var slot = _cmdq + (ulong)(_cmdqProd++ % (4096 / CmdBytes)) * CmdBytes;
            Context.Memory.TryWriteU64(slot, d0);
            Context.Memory.TryWriteU64(slot + 8, d1);
            _opCounts[(byte)SmmuV3Opcode.TlbiNhVa]++;
            HwInvalidateVa(d.HwTag, a, granule, leaf);
            ChargeInvalidation(1, false);
        }
        Issue(new SmmuV3Command(SmmuV3Opcode.CmdSync, 0, 0, 0, false));
    }

    /// <summary>Linux: arm_smmu_tlb_inv_context(): CMD_TLBI_NH_ASID + CMD_SYNC.</summary>
    public override void InvalidateDomain(IommuDomain d) => IssueTlbiAsid(d.HwTag, sync: true);

    /// <summary>Writes the event record to the event queue (STE.Config = abort records nothing, per IHI0070 §5.2).</summary>
    protected override bool OnFault(Master? m, uint streamId, ulong iova, bool write, IommuFaultReason reason)
    {
        SmmuV3EventId? id = reason switch
        {
            IommuFaultReason.Translation => SmmuV3EventId.FTranslation,
            IommuFaultReason.Permission => SmmuV3EventId.FPermission,
            IommuFaultReason.AddressSize => SmmuV3EventId.FAddrSize,
            IommuFaultReason.External => SmmuV3EventId.FWalkEabt,
            IommuFaultReason.BadConfig => SmmuV3EventId.CBadSte,
            _ => null,
        };
        if (id is { } e)
        {
            var ev = new SmmuV3Event(e, streamId, iova, write);
            var (d0, d1, d2) = ev.Encode();
            var slot = _evtq + (ulong)(_evtqProd++ % (4096 / EvtBytes)) * EvtBytes;
            Context.Memory.TryWriteU64(slot, d0);
            Context.Memory.TryWriteU64(slot + 8, d1);
            Context.Memory.TryWriteU64(slot + 16, d2);
            Events.Add(ev);
        }
        return false;
    }

    /// <summary>Linux: arm_smmu_get_resv_regions(): the software MSI window plus the generic ones.</summary>
    public override void GetResvRegions(Device dev, List<ReservedRegion> regions)
    {
        regions.Add(SwMsiRegion());
        base.GetResvRegions(dev, regions);
    }
}
