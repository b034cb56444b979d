using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Platform;
using DmaLab.Trace;

namespace DmaLab.Iommu;

/// <summary>
/// The IOMMU core (Linux: drivers/iommu/iommu.c): registered instances, device probe, groups, default domains,
/// attach/detach, and map/unmap through the domain's driver (see the other parts of this partial class).
/// Kernel WARN_ONs and pr_errs become <see cref="Findings"/>; faults are recorded in <see cref="Faults"/>.
/// </summary>
public sealed partial class IommuCore
{
    readonly List<IommuDevice> _instances = new();
    readonly Dictionary<Device, DevIommu> _devs = new();
    readonly List<IommuGroup> _groups = new();
    int _nextGroupId;

    /// <param name="armDmaUseIommu">The platform is 32-bit ARM, whose DMA layer (arm_iommu) takes IDENTITY default domains.</param>
    public IommuCore(KernelOptionsSpec kernel, ITraceSink? trace = null, bool armDmaUseIommu = false)
    {
        ArmDmaUseIommu = armDmaUseIommu;
        Kernel = kernel;
        Trace = trace ?? NullTraceSink.Instance;
        PerInstance = kernel.DomainPolicy switch
        {
            "per-device" or "" => false,
            "per-instance" => true,
            _ => throw new ArgumentException($"kernel.domainPolicy '{kernel.DomainPolicy}': expected 'per-device' or 'per-instance'"),
        };
    }

    public KernelOptionsSpec Kernel { get; }

    /// <summary>Why a driver forced strict invalidation (Linux: drivers/iommu/iommu.c, iommu_set_dma_strict()), or null:
    /// a lazy (DMA-FQ) global default becomes DMA for every default domain set up afterwards.</summary>
    public string? DmaStrictForcedBy { get; private set; }

    /// <summary>Linux: iommu_set_dma_strict(), called by drivers whose IOMMU is virtualised (AMD-Vi NpCache).</summary>
    public void SetDmaStrict(string why) => DmaStrictForcedBy ??= why;
    public bool ArmDmaUseIommu { get; }
    public ITraceSink Trace { get; }
    /// <summary>One default DMA domain per IOMMU instance shared by all its groups (the 2014 ARM proposal) instead of one per group.</summary>
    public bool PerInstance { get; }
    public IReadOnlyList<IommuDevice> Instances => _instances;
    public IReadOnlyList<IommuGroup> Groups => _groups;
    public List<Finding> Findings { get; } = new();
    public List<IommuFault> Faults { get; } = new();

    /// <summary>Linux: iommu_device_register().</summary>
    public void Register(IommuDevice instance)
    {
        if (instance.Ops is null) throw new ArgumentException($"IOMMU '{instance.Name}' has no driver");
        if (FindInstance(instance.Name) is not null) throw new ArgumentException($"IOMMU '{instance.Name}' registered twice");
        _instances.Add(instance);
    }

    public IommuDevice? FindInstance(string name)
    {
        foreach (var i in _instances) if (string.Equals(i.Name, name, StringComparison.Ordinal)) return i;
        return null;
    }

    public DevIommu? GetDevIommu(Device dev) => _devs.GetValueOrDefault(dev);
    /// <summary>Linux: iommu_group_get().</summary>
    public IommuGroup? GetGroup(Device dev) => _devs.GetValueOrDefault(dev)?.Group;
    /// <summary>Linux: iommu_get_domain_for_dev().</summary>
    public IommuDomain? GetDomain(Device dev) => GetGroup(dev)?.Domain;
    /// <summary>Linux: iommu_get_dma_domain() — the group's default domain.</summary>
    public IommuDomain? GetDefaultDomain(Device dev) => GetGroup(dev)?.DefaultDomain;

    /// <summary>
    /// Probes a set of devices as bus_iommu_probe() does: every device is probed and grouped first, then each new
    /// group gets its default domain chosen with all its members known. Returns per-device results (0 or -errno).
    /// </summary>
    public Dictionary<Device, int> ProbeBus(IEnumerable<Device> devices)
    {
        var results = new Dictionary<Device, int>();
        var pending = new List<IommuGroup>();
        foreach (var dev in devices)
            results[dev] = ProbeOne(dev, pending);
        foreach (var g in pending)
        {
            int ret = SetupDefaultDomain(g);
            if (ret != 0)
                foreach (var d in g.Members) results[d] = ret;
        }
        return results;
    }

    /// <summary>Linux: iommu_probe_device() for a hot-added device: probe, group, and default domain at once.</summary>
    public int ProbeDevice(Device dev)
    {
        var pending = new List<IommuGroup>();
        int ret = ProbeOne(dev, pending);
        if (ret == 0 && pending.Count > 0) ret = SetupDefaultDomain(pending[0]);
        return ret;
    }

    int ProbeOne(Device dev, List<IommuGroup> pending)
    {
        if (_devs.ContainsKey(dev)) return 0;
        if (dev.Spec.Iommu is null) return -Errno.ENODEV;
        var inst = FindInstance(dev.Spec.Iommu);
        if (inst is null) return -Errno.ENODEV;
        var ops = inst.Ops;
        IReadOnlyList<uint> ids = dev.Spec.StreamIds.Count > 0 || !dev.IsPci
            ? dev.Spec.StreamIds.ToArray()
            : new uint[] { PciBdf.Of(dev).RequesterId };
        var state = new DevIommu(dev, inst, ids);
        int ret = ops.ProbeDevice(dev, state);
        if (ret != 0) return ret;
        _devs[dev] = state;
        var group = ops.DeviceGroup(dev, this);
        if (group is null)
        {
            ops.ReleaseDevice(dev, state);
            _devs.Remove(dev);
            return -Errno.EINVAL;
        }
        if (!_groups.Contains(group)) _groups.Add(group);
        group.Members.Add(dev);
        state.Group = group;
        IommuTrace.AddDeviceToGroup(Trace, group.Id, dev);

        if (group.DefaultDomain is not null) CreateDirectMappings(group.DefaultDomain, dev);
        if (group.Domain is not null)
        {
            ret = AttachDeviceRaw(group.Domain, dev);
            if (ret != 0) { RemoveFromGroup(dev, state); return ret; }
        }
        else if (!pending.Contains(group)) pending.Add(group);
        return 0;
    }

    /// <summary>Linux: iommu_release_device(): the device leaves its group (iommu:remove_device_from_group).</summary>
    public void ReleaseDevice(Device dev)
    {
        if (!_devs.TryGetValue(dev, out var state)) return;
        RemoveFromGroup(dev, state);
    }

    void RemoveFromGroup(Device dev, DevIommu state)
    {
        var g = state.Group;
        if (g is not null)
        {
            g.Members.Remove(dev);
            IommuTrace.RemoveDeviceFromGroup(Trace, g.Id, dev);
            state.Group = null;
        }
        state.Instance.Ops.ReleaseDevice(dev, state);
        _devs.Remove(dev);
        if (g is not null && g.Members.Count == 0) ReleaseGroup(g);
    }

    /// <summary>Linux: iommu_group_release(): the last device left; the group's default domain is freed unless another group still uses it.</summary>
    void ReleaseGroup(IommuGroup g)
    {
        _groups.Remove(g);
        if (g.Domain is { } cur) cur.AttachedGroups--;
        g.Domain = null;
        if (g.DefaultDomain is { } def && def.AttachedGroups == 0)
        {
            if (g.Instance.SharedDefaultDomain == def) g.Instance.SharedDefaultDomain = null;
            def.Ops.DomainFree(def);
        }
        g.DefaultDomain = null;
    }

    /// <summary>Linux: iommu_group_alloc(): a new group with the next id (ids are never reused, as with the kernel's ida from 0).</summary>
    public IommuGroup AllocGroup(IommuDevice instance) => new(_nextGroupId++, instance);

    /// <summary>Linux: generic_device_group() — every device gets its own group.</summary>
    public IommuGroup GenericDeviceGroup(Device dev) => AllocGroup(_devs[dev].Instance);

    /// <summary>
    /// Linux: pci_device_group(). A device below a bridge whose path to the root lacks ACS shares the group of
    /// everything under that bridge (peer-to-peer DMA and aliasing cannot be isolated); functions of one
    /// multi-function slot without ACS share a group; otherwise a new group.
    /// </summary>
    public IommuGroup PciDeviceGroup(Device dev)
    {
        var inst = _devs[dev].Instance;
        if (!dev.IsPci) return GenericDeviceGroup(dev);
        var bdf = PciBdf.Of(dev);
        if (!dev.Spec.Acs)
        {
            foreach (var (other, st) in _devs)
            {
                if (other == dev || st.Group is null || !other.IsPci || other.Spec.Acs) continue;
                if (dev.Spec.Bridge is not null)
                {
                    if (string.Equals(other.Spec.Bridge, dev.Spec.Bridge, StringComparison.Ordinal)) return st.Group;
                    continue;
                }
                if (other.Spec.Bridge is not null) continue;
                var ob = PciBdf.Of(other);
                if (ob.Domain == bdf.Domain && ob.Bus == bdf.Bus && ob.Slot == bdf.Slot) return st.Group;
            }
        }
        // a requester ID already taken by a grouped device is a DMA alias: it must share that group
        foreach (var (other, st) in _devs)
            if (other != dev && st.Group is not null && other.IsPci && PciBdf.Of(other) == bdf) return st.Group;
        return AllocGroup(inst);
    }

    /// <summary>
    /// Platform masters whose firmware IDs overlap share a group (what the ARM SMMU's shared stream-map entries
    /// force in arm_smmu_device_group()). Returns null when no grouped device shares an ID.
    /// </summary>
    public IommuGroup? FindGroupSharingIds(Device dev, Func<uint, uint, bool> sameStream)
    {
        var me = _devs[dev];
        foreach (var (other, st) in _devs)
        {
            if (other == dev || st.Group is null || st.Instance != me.Instance) continue;
            foreach (var a in me.Ids)
                foreach (var b in st.Ids)
                    if (sameStream(a, b)) return st.Group;
        }
        return null;
    }

    internal void Warn(string kind, string device, ulong address, string message) => Findings.Add(new Finding(kind, device, address, message));
}
