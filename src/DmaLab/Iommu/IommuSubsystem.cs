using DmaLab.Devices;
using DmaLab.Iommu.Drivers;
using DmaLab.Iommu.Hardware;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Sim;
using DmaLab.Trace;

namespace DmaLab.Iommu;

/// <summary>
/// Boots the IOMMU layer of a platform (Linux: the IOMMU drivers' probe + iommu_device_register() +
/// bus_iommu_probe()): creates a driver and translation unit per enabled instance, probes every device that
/// names an IOMMU, forms groups and allocates default domains.
/// </summary>
public sealed class IommuSubsystem
{
    readonly Dictionary<Device, int> _probe = new();
    readonly List<Device> _devices;

    IommuSubsystem(IommuCore core, List<Device> devices)
    {
        Core = core;
        _devices = devices;
    }

    public IommuCore Core { get; }
    public IReadOnlyList<IommuDevice> Instances => Core.Instances;

    public static IommuSubsystem Boot(PlatformSpec platform, IEnumerable<Device> devices, PhysicalMemory memory, IPageAllocator pages,
        SimClock clock, CostModel costs, ITraceSink? trace = null, ulong seed = 0, IoPgtableFactory? pgtables = null)
    {
        var core = new IommuCore(platform.Kernel, trace, armDmaUseIommu: platform.Arch == "arm");
        var ctx = new IommuDriverContext
        {
            Core = core, Memory = memory, Pages = pages, Clock = clock, Costs = costs, Seed = seed,
            ReservedMemory = platform.ReservedMemory,
            PgtableFactory = pgtables ?? PageTables.IoPgtableRegistry.Alloc,
        };
        foreach (var spec in platform.Iommus)
        {
            if (!spec.Enabled) continue;
            var geo = IommuDriverFactory.DefaultIotlb(spec.Model);
            if (spec.IotlbEntries != 0 || spec.IotlbWays != 0)
                geo = geo with { Entries = spec.IotlbEntries != 0 ? spec.IotlbEntries : geo.Entries, Ways = spec.IotlbWays != 0 ? spec.IotlbWays : geo.Ways, Source = $"platform {platform.Name}" };
            var inst = new IommuDevice(spec, new TranslationUnit(spec.Name, geo, costs, clock, seed));
            if (IommuDriverFactory.Create(inst, ctx) is null) continue;
            core.Register(inst);
        }
        var list = devices.ToList();
        var sub = new IommuSubsystem(core, list);
        foreach (var (dev, ret) in core.ProbeBus(list.Where(d => d.Spec.Enabled && d.Spec.Iommu is not null)))
            sub._probe[dev] = ret;
        return sub;
    }

    /// <summary>Linux: iommu_probe_device() from the bus notifier for a device added after boot: probe, group and default
    /// domain. Returns 0 or -errno (-ENODEV when the device names no IOMMU).</summary>
    public int AddDevice(Device dev)
    {
        ArgumentNullException.ThrowIfNull(dev);
        _devices.Add(dev);
        int ret = dev.Spec.Enabled && dev.Spec.Iommu is not null ? Core.ProbeDevice(dev) : -Errno.ENODEV;
        _probe[dev] = ret;
        return ret;
    }

    /// <summary>The device's IOMMU, group, default domain, type and the reason for it.</summary>
    public DeviceIommuInfo Info(Device dev)
    {
        int ret = _probe.TryGetValue(dev, out var r) ? r : -Errno.ENODEV;
        var g = Core.GetGroup(dev);
        string reason = dev.Spec.Iommu is null ? "no iommus property: not behind an IOMMU"
            : ret != 0 ? $"probe failed: -{Errno.Name(ret)}"
            : g?.DefaultDomainReason ?? "";
        return new DeviceIommuInfo(dev.Name, dev.Spec.Iommu, ret, g?.Id, g, g?.DefaultDomain, g?.DefaultDomain?.Type, reason);
    }

    public IEnumerable<DeviceIommuInfo> AllInfo() => _devices.Select(Info);

    /// <summary>The translation unit and port a device's DMA enters by, or null when it is not translated by an IOMMU.</summary>
    public (TranslationUnit Unit, int Port)? TranslationFor(Device dev)
        => Core.GetDevIommu(dev) is { Port: >= 0 } st ? (st.Instance.Hardware, st.Port) : null;
}
