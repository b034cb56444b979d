using DmaLab.Devices;
using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// ARM SMMU v1/v2 (MMU-400/401/500) (Linux: drivers/iommu/arm/arm-smmu/arm-smmu.c). Streams are matched by
/// Stream Match Registers (id/mask), routed by Stream-to-Context registers to one of a limited number of context
/// banks; a domain takes a context bank at first attach and running out is -ENOSPC, as in the kernel.
/// Firmware IDs carry the SMR mask in bits 31:16 (the binding's second cell / stream-match-mask).
/// </summary>
public sealed class ArmSmmu : IommuDriverBase
{
    /// <summary>SMMU_SMRn: valid, id, mask.</summary>
    public struct Smr { public bool Valid; public ushort Id; public ushort Mask; }
    /// <summary>SMMU_S2CRn: type and context bank, with the kernel's reference count and remembered group.</summary>
    public struct S2cr { public S2crType Type; public int Cbndx; public int Count; public IommuGroup? Group; }
    public enum S2crType { Translate, Bypass, Fault }
    /// <summary>Context bank registers the model keeps: TTBR0/TCR/MAIR as the format returned them, ASID, fault status.</summary>
    public struct ContextBank { public bool InUse; public ulong Ttbr0; public ulong Tcr; public ulong Mair; public int Asid; public uint Fsr; public ulong Far; public uint Fsynr0; }

    /// <summary>Linux: ARM_SMMU_FSR_TF (translation fault), ARM_SMMU_FSR_PF (permission fault), ARM_SMMU_FSYNR0_WNR.</summary>
    public const uint FsrTf = 1 << 1, FsrPf = 1 << 3, Fsynr0Wnr = 1 << 4;

    readonly IdBitmap _contextMap;
    public Smr[] Smrs { get; }
    public S2cr[] S2crs { get; }
    public ContextBank[] ContextBanks { get; }
    /// <summary>Register writes to TLBIVA/TLBIVAL/TLBIASID and TLBSYNC, as a count per kind.</summary>
    public long TlbiVaWrites, TlbiAsidWrites, TlbSyncs;
    readonly bool _v7s;

    /// <param name="numSmrs">SMMU_IDR0.NUMSMRG; 0 = 128 (the architectural maximum, MMU-500 TRM).</param>
    public ArmSmmu(IommuDevice instance, IommuDriverContext context, int numSmrs = 0) : base(instance, context, LimitsFor(instance.Spec))
    {
        int cbs = instance.Spec.ContextBanks != 0 ? instance.Spec.ContextBanks : Limits.MaxContexts;
        _contextMap = new IdBitmap(0, cbs);
        Smrs = new Smr[numSmrs > 0 ? numSmrs : 128];
        S2crs = new S2cr[Smrs.Length];
        for (int i = 0; i < S2crs.Length; i++) S2crs[i].Type = S2crType.Fault; // disable_bypass: unmatched streams fault
        ContextBanks = new ContextBank[cbs];
        _v7s = instance.Spec.Compatible.Contains("smmu-v1", StringComparison.Ordinal) && (PgsizeBitmap & (1UL << 20)) != 0;
    }

    /// <summary>
    /// 4K/2M/1G from the 4 KiB AArch64 granule (IDR2.PTFS_4K; Linux arm_smmu_device_cfg_probe()); VA 48 bits, PA 48.
    /// Context banks: IDR1.NUMCB is an implementation choice (MMU-401: 8, MMU-500: up to 128); default 8 for
    /// MMU-400/401 and v1, 32 for MMU-500 and others — an approximation, platform specs can override.
    /// IOTLB: MMU-500 TRM r2p4 §2 describes a configurable TBU macro-TLB; we model 512 entries 4-way, LRU.
    /// </summary>
    static DriverLimits LimitsFor(Platform.IommuSpec spec)
    {
        bool small = spec.Compatible is "arm,mmu-400" or "arm,mmu-401" or "arm,smmu-v1";
        return new DriverLimits(0x4020_1000, 48, 48, small ? 8 : 32,
            new IotlbGeometry(512, 4, IotlbReplacement.Lru, 64, "MMU-500 TRM (configurable macro-TLB); approximation"),
            "arm-smmu.c arm_smmu_device_cfg_probe(); MMU-401/MMU-500 TRMs");
    }

    public override string DriverName => "arm-smmu";
    public int ContextBanksInUse => _contextMap.InUse;

    protected override bool FinaliseAtAlloc => false;
    protected override IoPgtableFormat PgtableFormat(IommuDomain d) => _v7s ? IoPgtableFormat.ArmV7s : IoPgtableFormat.ArmLpaeS1;

    /// <summary>Linux: arm_smmu_init_domain_context() → __arm_smmu_alloc_bitmap(context_map): -ENOSPC when all banks are taken.</summary>
    protected override int AllocTag(IommuDomain d)
    {
        int cb = _contextMap.Alloc();
        if (cb < 0) return cb;
        ContextBanks[cb] = new ContextBank { InUse = true, Asid = cb };
        return cb;
    }

    protected override int Finalise(IommuDomain d)
    {
        int ret = base.Finalise(d);
        if (ret != 0 || d.Pgtable is null) return ret;
        ref var cb = ref ContextBanks[d.HwTag];
        var regs = d.Pgtable.Config.Registers;
        cb.Ttbr0 = regs.GetValueOrDefault("TTBR0", regs.GetValueOrDefault("TTBR", d.Pgtable.Root.Value)) | ((ulong)cb.Asid << 48);
        cb.Tcr = regs.GetValueOrDefault("TCR");
        cb.Mair = regs.GetValueOrDefault("MAIR");
        return 0;
    }

    protected override void FreeTag(IommuDomain d)
    {
        ContextBanks[d.HwTag] = default;
        _contextMap.Free(d.HwTag);
    }

    /// <summary>Linux: arm_smmu_find_sme(): reuse an SMR that entirely covers id/mask, refuse a partial overlap (-EINVAL), else the first free one (-ENOSPC when none).</summary>
    int FindSme(ushort id, ushort mask)
    {
        int free = -Errno.ENOSPC;
        for (int i = 0; i < Smrs.Length; i++)
        {
            ref var s = ref Smrs[i];
            if (!s.Valid) { if (free < 0) free = i; continue; }
            if ((mask & s.Mask) == mask && ((id ^ s.Id) & ~s.Mask) == 0) return i;
            if (((id ^ s.Id) & ~(s.Mask | mask)) == 0) return -Errno.EINVAL;
        }
        return free;
    }

    sealed class SmmuMaster(Device d, DevIommu s, int[] p) : Master(d, s, p)
    {
        public int[] Smendx = Array.Empty<int>();
    }

    protected override Master CreateMaster(Device dev, DevIommu state, int[] ports) => new SmmuMaster(dev, state, ports);

    /// <summary>Linux: arm_smmu_master_alloc_smes().</summary>
    protected override int OnProbe(Master master)
    {
        var m = (SmmuMaster)master;
        var idx = new int[m.State.Ids.Count];
        for (int i = 0; i < idx.Length; i++)
        {
            uint fw = m.State.Ids[i];
            ushort id = (ushort)fw, mask = (ushort)(fw >> 16);
            int e = FindSme(id, mask);
            if (e < 0)
            {
                for (int j = 0; j < i; j++) ReleaseSme(idx[j]);
                return e;
            }
            if (S2crs[e].Count++ == 0) Smrs[e] = new Smr { Valid = true, Id = id, Mask = mask };
            idx[i] = e;
        }
        m.Smendx = idx;
        return 0;
    }

    void ReleaseSme(int e)
    {
        if (--S2crs[e].Count == 0) { Smrs[e] = default; S2crs[e] = new S2cr { Type = S2crType.Fault }; }
    }

    protected override void OnRelease(Master master)
    {
        foreach (var e in ((SmmuMaster)master).Smendx) ReleaseSme(e);
    }

    /// <summary>Linux: arm_smmu_device_group(): a master whose stream-map entries already belong to a group joins it (two different groups is -EINVAL → null).</summary>
    public override IommuGroup? DeviceGroup(Device dev, IommuCore core)
    {
        var m = (SmmuMaster)core.GetDevIommu(dev)!.Priv!;
        IommuGroup? group = null;
        foreach (var e in m.Smendx)
        {
            var g = S2crs[e].Group;
            if (group is not null && g is not null && g != group) return null;
            group ??= g;
        }
        group ??= dev.IsPci ? core.PciDeviceGroup(dev) : core.GenericDeviceGroup(dev);
        foreach (var e in m.Smendx) S2crs[e].Group = group;
        return group;
    }

    /// <summary>Linux: arm_smmu_write_s2cr() for each of the master's entries (translate to the domain's bank, bypass, or fault).</summary>
    protected override int ProgramStream(Master master, IommuDomain d)
    {
        var m = (SmmuMaster)master;
        foreach (var e in m.Smendx)
        {
            ref var s = ref S2crs[e];
            s.Type = d.Type switch { IommuDomainType.Identity => S2crType.Bypass, IommuDomainType.Blocked => S2crType.Fault, _ => S2crType.Translate };
            s.Cbndx = d.IsPaging ? d.HwTag : 0;
        }
        HwInvalidateStreams(m);
        return 0;
    }

    /// <summary>Decodes the stream's S2CR: the hardware matches the stream ID against the SMRs.</summary>
    public override StreamConfig FetchConfig(int port, uint streamId)
    {
        ushort sid = (ushort)streamId;
        for (int i = 0; i < Smrs.Length; i++)
        {
            ref var smr = ref Smrs[i];
            if (!smr.Valid || ((sid ^ smr.Id) & ~smr.Mask) != 0) continue;
            ref var s2cr = ref S2crs[i];
            if (s2cr.Type == S2crType.Bypass) return new StreamConfig { Mode = StreamMode.Bypass };
            if (s2cr.Type == S2crType.Fault) return new StreamConfig { Mode = StreamMode.Abort };
            var d = MasterOnPort(port)?.Domain;
            var table = d is not null && d.HwTag == s2cr.Cbndx ? d.Pgtable : null;
            return new StreamConfig { Mode = StreamMode.Translate, Tag = s2cr.Cbndx, Table = table, Domain = d };
        }
        return new StreamConfig { Mode = StreamMode.Abort }; // unmatched stream with sCR0.USFCFG = fault
    }

    /// <summary>Linux: arm_smmu_tlb_inv_range_s1(): one TLBIVA(L) write per granule, then arm_smmu_tlb_sync_context().</summary>
    public override void InvalidateRange(IommuDomain d, ulong iova, ulong size, ulong granule, bool leaf)
    {
        long writes = (long)Math.Max(1, size / Math.Max(granule, 1));
        TlbiVaWrites += writes;
        TlbSyncs++;
        HwInvalidateVa(d.HwTag, iova, size, leaf);
        ChargeInvalidation((int)Math.Min(writes, int.MaxValue), sync: true);
    }

    /// <summary>Linux: arm_smmu_tlb_inv_context_s1(): TLBIASID then sync.</summary>
    public override void InvalidateDomain(IommuDomain d)
    {
        TlbiAsidWrites++;
        TlbSyncs++;
        HwInvalidateTag(d.HwTag);
        ChargeInvalidation(1, sync: true);
    }

    /// <summary>Linux: arm_smmu_context_fault(): FSR/FAR/FSYNR0 latched, then report_iommu_fault() with WNR → write.</summary>
    protected override bool OnFault(Master? m, uint streamId, ulong iova, bool write, IommuFaultReason reason)
    {
        int cbndx = m?.Domain is { IsPaging: true } d ? d.HwTag : -1;
        if (cbndx < 0) return false; // a stream-match or S2CR fault is a global fault: logged, not reported
        ref var cb = ref ContextBanks[cbndx];
        cb.Fsr |= reason == IommuFaultReason.Permission ? FsrPf : FsrTf;
        cb.Far = iova;
        cb.Fsynr0 = write ? Fsynr0Wnr : 0;
        return true;
    }

    /// <summary>Linux: arm_smmu_get_resv_regions(): the software MSI window plus the generic ones.</summary>
    public override void GetResvRegions(Device dev, List<ReservedRegion> regions)
    {
        regions.Add(SwMsiRegion());
        base.GetResvRegions(dev, regions);
    }
}
