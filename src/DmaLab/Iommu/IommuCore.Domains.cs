using DmaLab.Devices;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu;

public sealed partial class IommuCore
{
    /// <summary>
    /// Linux: iommu_setup_default_domain(): choose the type (<see cref="DefaultDomainPolicy"/>), allocate it (falling
    /// back to DMA when the global default type cannot be allocated), create direct mappings for reserved regions and
    /// attach every member.
    /// </summary>
    int SetupDefaultDomain(IommuGroup group)
    {
        if (group.Members.Count == 0) return 0;
        var ops = group.Instance.Ops;
        var choice = DefaultDomainPolicy.Decide(Kernel, ops, group.Members, ArmDmaUseIommu);
        if (choice.Error != 0)
        {
            group.DefaultDomainReason = choice.Reason;
            Warn("iommu-default-domain", group.Members[0].Name, 0, choice.Reason);
            return choice.Error;
        }
        var type = choice.Type;
        string reason = choice.Reason;
        if (type == IommuDomainType.DmaFq && !choice.FromDriverOrDevice && DmaStrictForcedBy is not null)
        {
            type = IommuDomainType.Dma;
            reason += $"; strict: {DmaStrictForcedBy}";
        }
        if (type == IommuDomainType.DmaFq && !ops.Capable(group.Members[0], IommuCap.DeferredFlush))
        {
            type = IommuDomainType.Dma;
            reason += $"; {ops.DriverName} lacks IOMMU_CAP_DEFERRED_FLUSH, so strict DMA";
        }

        IommuDomain? dom = null;
        var inst = group.Instance;
        if (PerInstance && type.IsDmaApi() && inst.SharedDefaultDomain is { } shared && shared.Type == type)
        {
            dom = shared;
            reason += "; per-instance policy: shares the IOMMU's default domain";
        }
        dom ??= ops.DomainAlloc(type, group.Members[0]);
        if (dom is null && !choice.FromDriverOrDevice && type != IommuDomainType.Dma)
        {
            dom = ops.DomainAlloc(IommuDomainType.Dma, group.Members[0]);
            reason += $"; {ops.DriverName} cannot allocate {type.SysfsName()}, falling back to DMA";
        }
        if (dom is null)
        {
            group.DefaultDomainReason = $"{reason}; {ops.DriverName} cannot allocate a {type.SysfsName()} domain";
            return -Errno.EINVAL;
        }
        if (PerInstance && dom.Type.IsDmaApi() && inst.SharedDefaultDomain is null) inst.SharedDefaultDomain = dom;

        group.DefaultDomain = dom;
        group.DefaultDomainReason = reason;
        foreach (var dev in group.Members)
        {
            int ret = AttachDeviceRaw(dom, dev);
            if (ret != 0) return ret;
            CreateDirectMappings(dom, dev);
        }
        group.Domain = dom;
        dom.AttachedGroups++;
        return 0;
    }

    /// <summary>
    /// Linux: iommu_create_device_direct_mappings(): in a DMA domain, identity-map the device's direct (RMRR-like)
    /// reserved regions, page aligned to the smallest page size, skipping pages already mapped.
    /// </summary>
    void CreateDirectMappings(IommuDomain dom, Device dev)
    {
        if (!dom.Type.IsDmaApi() || dom.PgsizeBitmap == 0) return;
        var regions = GetResvRegions(dev);
        ulong pg = IommuPgsize.MinPageSize(dom.PgsizeBitmap);
        foreach (var r in regions)
        {
            if (r.Type is not (ReservedRegionType.Direct or ReservedRegionType.DirectRelaxable)) continue;
            ulong start = r.Start & ~(pg - 1), end = (r.Start + r.Length + pg - 1) & ~(pg - 1);
            ulong mapStart = 0, mapSize = 0;
            for (ulong a = start; a < end; a += pg)
            {
                bool mapped = IovaToPhys(dom, a) != 0;
                if (!mapped) { if (mapSize == 0) mapStart = a; mapSize += pg; }
                if ((mapped || a + pg == end) && mapSize != 0)
                {
                    int ret = Map(dom, mapStart, mapStart, mapSize, r.Prot);
                    if (ret != 0) Warn("iommu-direct-mapping", dev.Name, mapStart, $"direct mapping of {r} failed: -{Errno.Name(ret)}");
                    mapSize = 0;
                }
            }
        }
    }

    int AttachDeviceRaw(IommuDomain dom, Device dev)
    {
        int ret = dom.Ops.AttachDev(dom, dev);
        if (ret == 0) IommuTrace.AttachDeviceToDomain(Trace, dev);
        return ret;
    }

    /// <summary>Linux: iommu_paging_domain_alloc(dev): an UNMANAGED domain on the device's IOMMU; null when not possible.</summary>
    public IommuDomain? DomainAllocPaging(Device dev)
        => _devs.TryGetValue(dev, out var st) ? st.Instance.Ops.DomainAlloc(IommuDomainType.Unmanaged, dev) : null;

    /// <summary>Linux: iommu_domain_free().</summary>
    public void DomainFree(IommuDomain dom)
    {
        if (dom.AttachedGroups != 0) throw new InvalidOperationException($"{dom} freed while attached to {dom.AttachedGroups} group(s)");
        dom.Ops.DomainFree(dom);
    }

    /// <summary>
    /// Linux: iommu_attach_group(): move every device of the group to <paramref name="dom"/>. -EBUSY when another
    /// non-default domain is attached; on failure the devices go back to the previous domain.
    /// </summary>
    public int AttachGroup(IommuDomain dom, IommuGroup group)
    {
        if (group.Domain is not null && group.Domain != group.DefaultDomain && group.Domain != dom) return -Errno.EBUSY;
        return SetGroupDomain(group, dom);
    }

    /// <summary>Linux: iommu_detach_group(): the group returns to its default domain.</summary>
    public void DetachGroup(IommuDomain dom, IommuGroup group)
    {
        if (group.Domain != dom) { Warn("iommu-detach", group.Members.FirstOrDefault()?.Name ?? "", 0, $"{group} is not attached to {dom}"); return; }
        if (group.DefaultDomain is not null) SetGroupDomain(group, group.DefaultDomain);
    }

    /// <summary>Linux: iommu_attach_device(): only for a device alone in its group (-EINVAL otherwise).</summary>
    public int AttachDevice(IommuDomain dom, Device dev)
    {
        var g = GetGroup(dev);
        if (g is null) return -Errno.ENODEV;
        if (g.Members.Count != 1) return -Errno.EINVAL;
        return AttachGroup(dom, g);
    }

    public void DetachDevice(IommuDomain dom, Device dev)
    {
        var g = GetGroup(dev);
        if (g is not null && g.Members.Count == 1) DetachGroup(dom, g);
    }

    int SetGroupDomain(IommuGroup group, IommuDomain dom)
    {
        if (group.Domain == dom) return 0;
        var old = group.Domain;
        foreach (var dev in group.Members)
        {
            int ret = AttachDeviceRaw(dom, dev);
            if (ret != 0)
            {
                if (old is not null) foreach (var d in group.Members) old.Ops.AttachDev(old, d);
                return ret;
            }
        }
        if (old is not null) old.AttachedGroups--;
        group.Domain = dom;
        dom.AttachedGroups++;
        return 0;
    }

    /// <summary>Linux: iommu_group_claim_dma_owner(): -EBUSY unless the group is idle in its default domain.</summary>
    public int ClaimDmaOwner(IommuGroup group, object owner)
    {
        if (group.Owner is not null && group.Owner != owner) return -Errno.EBUSY;
        if (group.Domain != group.DefaultDomain) return -Errno.EBUSY;
        group.Owner = owner;
        return 0;
    }

    /// <summary>Linux: iommu_group_release_dma_owner(): back to the default domain.</summary>
    public void ReleaseDmaOwner(IommuGroup group)
    {
        if (group.DefaultDomain is not null && group.Domain != group.DefaultDomain) SetGroupDomain(group, group.DefaultDomain);
        group.Owner = null;
    }

    /// <summary>Linux: iommu_get_resv_regions(): the driver's regions for the device, sorted by start.</summary>
    public List<ReservedRegion> GetResvRegions(Device dev)
    {
        var list = new List<ReservedRegion>();
        if (_devs.TryGetValue(dev, out var st)) st.Instance.Ops.GetResvRegions(dev, list);
        list.Sort((a, b) => a.Start.CompareTo(b.Start));
        return list;
    }

    /// <summary>Linux: iommu_set_fault_handler().</summary>
    public static void SetFaultHandler(IommuDomain dom, IommuFaultHandler? handler, object? token = null)
    {
        dom.FaultHandler = handler;
        dom.FaultToken = token;
    }

    /// <summary>
    /// Linux: report_iommu_fault(): calls the domain's handler (-ENOSYS when none), emits iommu:io_page_fault
    /// (with the master's driver name, here its bus name since the model binds no drivers) and records the fault.
    /// </summary>
    public int ReportFault(IommuDomain? dom, Device dev, ulong iova, IommuFaultFlags flags, IommuFaultReason reason, ulong timeNs)
    {
        int ret = -Errno.ENOSYS;
        if (dom?.FaultHandler is { } h) ret = h(dom, dev, iova, flags, dom.FaultToken);
        IommuTrace.IoPageFault(Trace, dev.IsPci ? "pci" : "platform", dev, iova, flags);
        var inst = _devs.TryGetValue(dev, out var st) ? st.Instance.Name : "";
        Faults.Add(new IommuFault(inst, dev.Name, iova, flags, reason, timeNs));
        return ret;
    }

    /// <summary>Finds the probed device on a translation-unit port (for drivers turning fault records into reports).</summary>
    public Device? DeviceOnPort(IommuDevice inst, int port)
    {
        foreach (var (dev, st) in _devs) if (st.Instance == inst && st.Port == port) return dev;
        return null;
    }

}
