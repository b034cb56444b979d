using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Platform;
using DmaLab.Sim;

namespace DmaLab.Workloads;

/// <summary>
/// Boots a fresh machine for one workload run under one policy and wraps it as a <see cref="WorkloadContext"/>.
/// Every run gets its own memory, IOMMUs, clock and seeded state, so runs never influence each other.
/// </summary>
public static class WorkloadBoot
{
    public static WorkloadContext Boot(PlatformSpec spec, string policy, ulong seed)
    {
        var applied = WorkloadPolicy.Apply(spec, policy);
        var sys = DmaSystem.Boot(applied);
        var clock = new SimClock();
        var costs = applied.Costs ?? new CostModel();
        IommuSubsystem? iommu = applied.Iommus.Count > 0
            ? IommuSubsystem.Boot(applied, sys.Devices, sys.Memory.Memory, sys.Memory.PageAllocator, clock, costs, seed: seed)
            : null;
        if (sys.Swiotlb is { } pool) { pool.Clock = clock; pool.Cost = costs; }
        var observer = new CpuCacheDmaObserver(sys.Cache);
        var engines = new Dictionary<Device, DmaEngine>();
        var notes = new List<string>();
        return new WorkloadContext
        {
            Platform = applied, Policy = policy, Memory = sys.Memory, Api = sys.Api, Cache = sys.Cache, Devices = sys.Devices,
            Clock = clock, Costs = costs, Iommu = iommu?.Core, Swiotlb = sys.Swiotlb, Direct = sys.Direct,
            EngineFor = d => engines.TryGetValue(d, out var e) ? e
                : engines[d] = DmaEngine.For(d, iommu, sys.Memory.Memory, clock, costs, observer),
            BootNotes = notes,
        };
    }
}
