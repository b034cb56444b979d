using DmaLab.Devices;
using DmaLab.Iommu.Hardware;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// The shared shape of the small SoC IOMMUs (OMAP, MSM, Exynos sysmmu, Tegra SMMU, Rockchip, Sun50i, IPMMU):
/// configuration lives in registers (a table base per context), a fixed number of contexts, TLB maintenance by
/// register writes. Each sealed driver supplies its <see cref="SocIommuTraits"/> and register names.
/// </summary>
public abstract class SocIommuBase : IommuDriverBase
{
    readonly IdBitmap? _pool;
    /// <summary>The context registers the model keeps: table base (as the format's registers give it) and fault status.</summary>
    public struct ContextRegs { public bool Enabled; public ulong TableBase; public uint FaultStatus; public ulong FaultAddress; }
    public ContextRegs[] Contexts { get; }
    /// <summary>TLB maintenance register writes: per-entry/range flushes and whole-TLB flushes.</summary>
    public long TlbEntryFlushes, TlbFullFlushes;

    protected SocIommuBase(IommuDevice instance, IommuDriverContext context, SocIommuTraits traits) : base(instance, context, traits.Limits)
    {
        Traits = traits;
        int n = traits.Contexts == SocContextModel.Pool ? (instance.Spec.ContextBanks != 0 ? instance.Spec.ContextBanks : traits.Limits.MaxContexts) : 1;
        if (traits.Contexts == SocContextModel.Pool) _pool = new IdBitmap(0, n);
        Contexts = new ContextRegs[n];
    }

    public SocIommuTraits Traits { get; }
    public override string DriverName => Traits.DriverName;
    protected override bool DeferredFlush => false;
    /// <summary>The SoC IOMMU bindings (omap-iommu, samsung,sysmmu-v*, rockchip,iommu) use #iommu-cells = &lt;0&gt;.</summary>
    protected override bool ProbesWithoutIds => true;
    protected override bool SupportsIdentity => Traits.Identity;
    protected override IoPgtableFormat PgtableFormat(IommuDomain d) => Traits.Format;
    protected override Mm.Gfp PgtableGfp => Traits.TableGfp;
    public int ContextsInUse => _pool?.InUse ?? (Contexts[0].Enabled ? 1 : 0);

    protected override int AllocTag(IommuDomain d) => _pool is null ? 0 : _pool.Alloc() is var t && t < 0 ? Traits.PoolExhaustedErrno : t;

    protected override void FreeTag(IommuDomain d)
    {
        if (_pool is not null) { _pool.Free(d.HwTag); Contexts[d.HwTag] = default; }
    }

    /// <summary>Pool drivers take their context at first attach (msm_iommu_attach_dev, tegra_smmu_attach_dev, ipmmu_attach_device).</summary>
    protected override bool FinaliseAtAlloc => Traits.Contexts != SocContextModel.Pool;

    public override IommuGroup? DeviceGroup(Device dev, IommuCore core) => Traits.Groups switch
    {
        SocGroupModel.PerInstance => core.Groups.FirstOrDefault(g => g.Instance == Instance) ?? core.GenericDeviceGroup(dev),
        SocGroupModel.SharedIds => core.FindGroupSharingIds(dev, (a, b) => a == b) ?? core.GenericDeviceGroup(dev),
        _ => base.DeviceGroup(dev, core),
    };

    protected override int ProgramStream(Master m, IommuDomain d)
    {
        if (d.IsPaging && Traits.Contexts != SocContextModel.Pool)
        {
            if (Traits.Contexts == SocContextModel.SingleExclusive && Masters.Any(o => o != m && o.Domain == d)) return -Errno.EINVAL;
            var active = ActiveDomain();
            if (active is not null && active != d) InvalidateDomain(active);
        }
        int ctx = d.IsPaging ? d.HwTag : 0;
        ref var regs = ref Contexts[ctx];
        regs.Enabled = d.IsPaging;
        regs.TableBase = d.Pgtable is { } t ? t.Config.Registers.GetValueOrDefault("TTBR0", t.Config.Registers.GetValueOrDefault("TTBR", t.Root.Value)) : 0;
        HwInvalidateStreams(m);
        return 0;
    }

    IommuDomain? ActiveDomain()
    {
        foreach (var m in Masters) if (m.Domain is { IsPaging: true } d) return d;
        return null;
    }

    /// <summary>Drivers that flush inside unmap invalidate each unmapped range at once, so no stale entry outlives the call.</summary>
    public override ulong UnmapPages(IommuDomain d, ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather)
    {
        if (!Traits.InvalidateOnUnmap) return base.UnmapPages(d, iova, pgsize, pgcount, ref gather);
        var local = IommuIotlbGather.Init();
        ulong n = base.UnmapPages(d, iova, pgsize, pgcount, ref local);
        if (n != 0) InvalidateRange(d, iova, n, pgsize, leaf: true);
        return n;
    }

    public override void IotlbSync(IommuDomain d, ref IommuIotlbGather gather)
    {
        if (Traits.InvalidateOnUnmap) { gather = IommuIotlbGather.Init(); return; }
        base.IotlbSync(d, ref gather);
    }

    /// <summary>Per-entry TLB flush writes over the range (one per page of <paramref name="granule"/>), applied at once.</summary>
    public override void InvalidateRange(IommuDomain d, ulong iova, ulong size, ulong granule, bool leaf)
    {
        long n = (long)Math.Max(1, size / Math.Max(granule, 4096));
        TlbEntryFlushes += n;
        HwInvalidateVa(d.HwTag, iova, size, leaf);
        ChargeInvalidation((int)Math.Min(n, int.MaxValue), sync: true);
    }

    public override void InvalidateDomain(IommuDomain d)
    {
        TlbFullFlushes++;
        HwInvalidateTag(d.HwTag);
        ChargeInvalidation(1, sync: true);
    }

    protected override bool OnFault(Master? m, uint streamId, ulong iova, bool write, IommuFaultReason reason)
    {
        int ctx = m?.Domain is { IsPaging: true } d ? d.HwTag : 0;
        ref var regs = ref Contexts[Math.Max(0, ctx)];
        regs.FaultStatus = (uint)(1 + (int)reason) | (write ? 0x100u : 0);
        regs.FaultAddress = iova;
        return Traits.ReportsFaults && m?.Domain is not null;
    }

    protected override IommuFaultFlags FaultFlagsReported(IommuFaultFlags flags) => Traits.FaultFlagsZero ? IommuFaultFlags.Read : flags;

    /// <summary>SoC IOMMUs have no fixed window; the ARM ones still report the software MSI region when iommu-dma is used (arm64).</summary>
    public override void GetResvRegions(Device dev, List<ReservedRegion> regions) => base.GetResvRegions(dev, regions);
}
