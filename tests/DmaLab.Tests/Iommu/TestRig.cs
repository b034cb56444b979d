using DmaLab.Devices;
using DmaLab.Iommu;
using DmaLab.Iommu.Drivers;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Sim;
using DmaLab.Trace;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Iommu;

/// <summary>Collects trace lines ("event: fields").</summary>
public sealed class ListTraceSink : ITraceSink
{
    public List<string> Lines { get; } = new();
    public bool Enabled => true;
    public void Write(int cpu, string system, string eventName, string fields) => Lines.Add($"{eventName}: {fields}");
}

/// <summary>A booted platform for IOMMU tests: 256 MiB of DRAM at 0x8000_0000, table pages from its top 64 MiB.</summary>
public sealed class TestRig
{
    public const ulong DramBase = 0x8000_0000, DramSize = 256UL << 20;
    public const ulong TableBase = DramBase + (192UL << 20);

    public TestRig(PlatformSpec platform, ulong seed = 1)
    {
        Platform = platform;
        Memory = new PhysicalMemory([new MemRange(new PhysAddr(DramBase), DramSize)]);
        Pages = new TestPageAllocator(new PhysAddr(TableBase), 64UL << 20);
        Devices = platform.Devices.Select(d => new Device(d)).ToList();
        Iommu = IommuSubsystem.Boot(platform, Devices, Memory, Pages, Clock, Costs, Trace, seed);
    }

    public PlatformSpec Platform { get; }
    public PhysicalMemory Memory { get; }
    public TestPageAllocator Pages { get; }
    public SimClock Clock { get; } = new();
    public CostModel Costs { get; } = new();
    public ListTraceSink Trace { get; } = new();
    public List<Device> Devices { get; }
    public IommuSubsystem Iommu { get; }
    public IommuCore Core => Iommu.Core;

    public Device Dev(string name) => Devices.First(d => d.Name == name);
    public DmaEngine Engine(string name) => DmaEngine.For(Dev(name), Iommu, Memory, Clock, Costs);
    public T Driver<T>(int index = 0) where T : class => (T)Core.Instances[index].Ops;

    public static PlatformSpec Platform1(string model, string compatible = "", string arch = "arm64", Action<KernelOptionsSpec>? kernel = null, params DeviceSpec[] devices)
    {
        var p = new PlatformSpec { Name = "test", Arch = arch };
        p.Memory.Add(new MemorySpec { Base = DramBase, Size = DramSize });
        p.Iommus.Add(new IommuSpec { Name = "iommu0", Model = model, Compatible = compatible });
        kernel?.Invoke(p.Kernel);
        p.Devices.AddRange(devices);
        return p;
    }

    public static DeviceSpec Pci(string bdf, bool acs = true, string? bridge = null, bool untrusted = false) =>
        new() { Name = bdf, Bus = "pci", BusId = bdf, Iommu = "iommu0", Acs = acs, Bridge = bridge, Untrusted = untrusted, DmaMask = 64 };

    public static DeviceSpec Plat(string name, params uint[] ids)
    {
        var d = new DeviceSpec { Name = name, Bus = "platform", Iommu = "iommu0", DmaMask = 32 };
        d.StreamIds.AddRange(ids);
        return d;
    }
}
