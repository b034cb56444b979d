using System.Reflection;
using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Iommu;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Sim;

namespace DmaLab;

/// <summary>
/// A booted platform, assembled in the kernel's order: memory (memblock, zones, CMA), the DMA layer (swiotlb pools,
/// dma-direct, atomic pools, dma-debug), the IOMMU layer (drivers, groups, default domains by policy), then each
/// device's DMA ops chosen by <see cref="ArchSetupDmaOps"/> and a <see cref="DmaEngine"/> per device that moves
/// real bytes through its translation (and through the CPU-cache model for non-coherent masters). Workloads,
/// replays and benchmarks drive it through <see cref="Dma"/> (the driver-facing DMA API) and <see cref="Engine(Device)"/>.
/// </summary>
public sealed class Machine
{
    readonly Dictionary<string, Device> _byName = new(StringComparer.Ordinal);
    readonly Dictionary<Device, DmaEngine> _engines = new(ReferenceEqualityComparer.Instance);

    Machine(PlatformSpec spec, MachineOptions options, SimClock clock, CostModel costs, DmaSystem dma, IommuSubsystem iommu, IommuDmaOps iommuDma)
    {
        Spec = spec;
        Options = options;
        Clock = clock;
        Costs = costs;
        DmaSystem = dma;
        Iommu = iommu;
        IommuDma = iommuDma;
    }

    /// <summary>The platform as booted (with the options' overrides applied).</summary>
    public PlatformSpec Spec { get; }
    public MachineOptions Options { get; }
    public SimClock Clock { get; }
    public CostModel Costs { get; }
    public MemorySystem Memory => DmaSystem.Memory;
    /// <summary>The DMA layer (swiotlb pool, dma-direct, CPU cache, kernel address space, dma-debug).</summary>
    public DmaSystem DmaSystem { get; }
    /// <summary>The driver-facing DMA API (dma_map_*, dma_alloc_*, syncs).</summary>
    public DmaMapping Dma => DmaSystem.Api;
    public IommuSubsystem Iommu { get; }
    /// <summary>The iommu-dma ops shared by every device in a DMA domain.</summary>
    public IommuDmaOps IommuDma { get; }
    /// <summary>32-bit ARM only: the arm_iommu ops (one mapping per translated master); null on other architectures.</summary>
    public ArmIommuDmaOps? ArmIommu { get; private set; }
    public CpuCache Cache => DmaSystem.Cache;
    public IReadOnlyList<Device> Devices => DmaSystem.Devices;
    /// <summary>What each device got at probe and why, in device order.</summary>
    public List<DeviceSetup> Setup { get; } = new();

    /// <summary>The device named <paramref name="name"/> (dev_name()); throws naming the devices there are.</summary>
    public Device Device(string name) => _byName.TryGetValue(name, out var d) ? d
        : throw new ArgumentException($"no device '{name}' on platform {Spec.Name}; devices: {string.Join(", ", _byName.Keys)}", nameof(name));

    /// <summary>The DMA engine of <paramref name="dev"/>.</summary>
    public DmaEngine Engine(Device dev) => _engines[dev];
    public DmaEngine Engine(string name) => _engines[Device(name)];

    /// <summary>The setup record of <paramref name="dev"/>.</summary>
    public DeviceSetup SetupOf(Device dev) => Setup.First(s => s.Device == dev.Name);

    /// <summary>Boots <paramref name="spec"/> (a built-in from <see cref="PlatformLoader.LoadBuiltIn"/>, a YAML file, or an
    /// imported device tree from <see cref="DtbPlatform.Load"/>).</summary>
    public static Machine Boot(PlatformSpec spec, MachineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= MachineOptions.Default;
        spec = ApplyOverrides(spec, options);
        var clock = new SimClock();
        var costs = spec.Costs ?? new CostModel();
        var dma = DmaSystem.Boot(spec, null, options.Trace);
        var mem = dma.Memory;
        if (dma.Swiotlb is { } pool) { pool.Clock = clock; pool.Cost = costs; }
        var iommu = IommuSubsystem.Boot(spec, dma.Devices, mem.Memory, mem.PageAllocator, clock, costs, options.Trace, options.Seed);
        var iommuDma = new IommuDmaOps(iommu.Core, mem, dma.Kva, dma.Cache, dma.Direct, clock, spec.Cpus);
        iommuDma.PciMemWindows.AddRange(options.PciMemWindows);
        var m = new Machine(spec, options, clock, costs, dma, iommu, iommuDma);
        if (iommu.Core.ArmDmaUseIommu) m.ArmIommu = new ArmIommuDmaOps(iommu.Core, mem, dma.Kva, dma.Cache, dma.Direct);
        var observer = new CpuCacheDmaObserver(dma.Cache, mem.Memory);
        foreach (var dev in dma.Devices)
        {
            m._byName[dev.Name] = dev;
            m.Setup.Add(ArchSetupDmaOps.Setup(dev, dma.Direct, iommu, iommuDma, m.ArmIommu));
            m._engines[dev] = DmaEngine.For(dev, iommu, mem.Memory, clock, costs, observer);
        }
        return m;
    }

    /// <summary>
    /// A device that appears after boot, set up as Linux does for a hot-plugged one (drivers/base/core.c device_add():
    /// the IOMMU bus notifier probes it into a group with a default domain, iommu_probe_device(); then
    /// dma_configure() → arch_setup_dma_ops() picks its DMA ops) and given a DMA engine through its translation.
    /// </summary>
    public Device AddDevice(DeviceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (_byName.ContainsKey(spec.Name)) throw new ArgumentException($"device '{spec.Name}' already exists on platform {Spec.Name}", nameof(spec));
        var dev = DmaSystem.AddDevice(spec);
        Iommu.AddDevice(dev);
        _byName[dev.Name] = dev;
        Setup.Add(ArchSetupDmaOps.Setup(dev, DmaSystem.Direct, Iommu, IommuDma, ArmIommu));
        _engines[dev] = DmaEngine.For(dev, Iommu, Memory.Memory, Clock, Costs, new CpuCacheDmaObserver(Cache, Memory.Memory));
        return dev;
    }

    /// <summary>The platform with the options' overrides, copied so the caller's spec is left as it was.</summary>
    static PlatformSpec ApplyOverrides(PlatformSpec spec, MachineOptions o)
    {
        bool any = o.Policy != IommuPolicy.Platform || o.SwiotlbForce || o.DomainPolicy is not null || o.ForceDac is not null || o.DmaDebug is not null;
        if (!any) return spec;
        var s = ShallowClone(spec);
        var k = ShallowClone(spec.Kernel);
        switch (o.Policy)
        {
            case IommuPolicy.Strict: k.IommuPassthrough = false; k.IommuStrict = true; break;
            case IommuPolicy.Lazy: k.IommuPassthrough = false; k.IommuStrict = false; break;
            case IommuPolicy.Passthrough: k.IommuPassthrough = true; break;
        }
        if (o.DomainPolicy is { } dp) k.DomainPolicy = dp == DomainPolicy.PerInstance ? "per-instance" : "per-device";
        if (o.ForceDac is { } fd) k.ForceDac = fd;
        if (o.DmaDebug is { } dd) k.DmaDebug = dd;
        s.Kernel = k;
        if (o.SwiotlbForce)
        {
            var sw = ShallowClone(spec.Swiotlb);
            sw.Mode = "force";
            s.Swiotlb = sw;
        }
        return s;
    }

    static readonly MethodInfo CloneMethod = typeof(object).GetMethod("MemberwiseClone", BindingFlags.Instance | BindingFlags.NonPublic)!;
    static T ShallowClone<T>(T o) where T : class => (T)CloneMethod.Invoke(o, null)!;

    /// <summary>Every finding so far: DMA API misuse (dma-debug, mapping.c), ops WARNs (dma-direct, iommu-dma,
    /// swiotlb), CPU-cache coherency violations, IOMMU core warnings and IOMMU faults.</summary>
    public List<Finding> Findings
    {
        get
        {
            var all = new List<Finding>();
            all.AddRange(Dma.Findings);
            if (DmaSystem.Debug is { } dbg) all.AddRange(dbg.Findings);
            all.AddRange(DmaSystem.Direct.Findings);
            all.AddRange(IommuDma.Findings);
            if (ArmIommu is { } arm) all.AddRange(arm.Findings);
            if (DmaSystem.Swiotlb is { } pool) all.AddRange(pool.Findings);
            all.AddRange(Cache.Findings);
            all.AddRange(Iommu.Core.Findings);
            foreach (var f in Iommu.Core.Faults)
                all.Add(new Finding("iommu-fault", f.Device, f.Iova, $"{f.Iommu}: {f.Device} fault at IOVA 0x{f.Iova:x} ({f.Flags}, {f.Reason}) at {f.TimeNs} ns"));
            return all;
        }
    }

    /// <summary>A snapshot of the machine's counters (see <see cref="MachineStats"/>).</summary>
    public MachineStats Stats() => MachineStats.Collect(this);
}
