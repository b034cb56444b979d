using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Iommu;
using DmaLab.Iova;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Sim;

namespace DmaLab.Workloads;

/// <summary>
/// What a driver workload sees of a booted machine: the DMA API, memory, CPU cache, devices, the IOMMU core, the
/// virtual clock and cost model, and probes into the iommu-dma state of a device (its IOVA domain and flush
/// queue) for the metrics. Built from a booted machine by <see cref="WorkloadBoot"/>; workloads never boot anything
/// themselves, so one booted machine is one independent, deterministic run.
/// </summary>
public sealed class WorkloadContext
{
    public required PlatformSpec Platform { get; init; }
    /// <summary>The IOMMU/DMA policy the machine was booted with ("strict", "lazy", "passthrough", "swiotlb-force").</summary>
    public required string Policy { get; init; }
    public required MemorySystem Memory { get; init; }
    public required DmaMapping Api { get; init; }
    public required CpuCache Cache { get; init; }
    public required IReadOnlyList<Device> Devices { get; init; }
    public required SimClock Clock { get; init; }
    public required CostModel Costs { get; init; }
    public IommuCore? Iommu { get; init; }
    public SwiotlbPool? Swiotlb { get; init; }
    public DmaDirectOps? Direct { get; init; }
    /// <summary>The DMA engine of a device (through its IOMMU port when it has one), wired to the CPU-cache model.</summary>
    public required Func<Device, DmaEngine> EngineFor { get; init; }
    /// <summary>The IOVA domain iommu-dma allocates from for the device's current DMA domain, or null.</summary>
    public Func<Device, IovaDomain?> IovaDomainOf { get; init; } = static _ => null;
    /// <summary>The flush queue of the device's DMA domain (lazy mode), or null.</summary>
    public Func<Device, FlushQueue?> FlushQueueOf { get; init; } = static _ => null;
    /// <summary>The boot's notes (what was approximated), copied into each result.</summary>
    public IReadOnlyList<string> BootNotes { get; init; } = [];

    /// <summary>The workload view of a booted <see cref="DmaLab.Machine"/>, named after the policy its options forced.</summary>
    public static WorkloadContext From(Machine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        string policy = m.Options.SwiotlbForce ? WorkloadPolicy.SwiotlbForce : m.Options.Policy switch
        {
            IommuPolicy.Strict => WorkloadPolicy.Strict,
            IommuPolicy.Lazy => WorkloadPolicy.Lazy,
            IommuPolicy.Passthrough => WorkloadPolicy.Passthrough,
            _ => WorkloadPolicy.Platform,
        };
        return From(m, policy);
    }

    /// <summary>The workload view of a booted <see cref="DmaLab.Machine"/>.</summary>
    public static WorkloadContext From(Machine m, string policy)
    {
        ArgumentNullException.ThrowIfNull(m);
        var iommuDma = m.IommuDma;
        return new WorkloadContext
        {
            Machine = m, Platform = m.Spec, Policy = policy, Memory = m.Memory, Api = m.Dma, Cache = m.Cache, Devices = m.Devices,
            Clock = m.Clock, Costs = m.Costs, Iommu = m.Iommu.Core, Swiotlb = m.DmaSystem.Swiotlb, Direct = m.DmaSystem.Direct,
            EngineFor = m.Engine,
            IovaDomainOf = d => iommuDma.StateOf(d)?.Cookie.Allocator.Iovad,
            FlushQueueOf = d => iommuDma.StateOf(d)?.Cookie.Fq,
            ExtraFindings = () =>
            {
                var f = iommuDma.TakeFindings();
                if (m.DmaSystem.Swiotlb is { } pool) f.AddRange(pool.Findings);
                return f;
            },
        };
    }

    /// <summary>The machine behind this view.</summary>
    public Machine? Machine { get; init; }
    /// <summary>Findings of components the workload does not drive directly (iommu-dma WARNs, swiotlb).</summary>
    public Func<List<Analysis.Finding>> ExtraFindings { get; init; } = static () => [];

    /// <summary>
    /// Lets the flush queues of <paramref name="devices"/> drain as they would once the workload goes idle: virtual
    /// time advances to each armed timer's expiry and fq_flush_timeout() runs, so every queued IOVA's stale window
    /// is closed and counted. Call after the workload's own time was measured.
    /// </summary>
    public void SettleFlushQueues(IEnumerable<Device> devices)
    {
        var seen = new HashSet<FlushQueue>(ReferenceEqualityComparer.Instance);
        foreach (var d in devices)
            if (FlushQueueOf(d) is { } fq && seen.Add(fq) && fq.TimerExpiryNs != ulong.MaxValue)
            {
                Clock.AdvanceTo(fq.TimerExpiryNs);
                fq.RunExpiredTimer();
            }
    }

    /// <summary>The first enabled device of one of <paramref name="kinds"/> (in that order of preference).</summary>
    public Device? FindDevice(params string[] kinds)
    {
        foreach (var k in kinds)
            foreach (var d in Devices)
                if (d.Spec.Kind == k) return d;
        return null;
    }

    /// <summary>The domain the device's DMA is translated by now, or null when it is not behind a probed IOMMU.</summary>
    public IommuDomain? DomainOf(Device dev) => Iommu?.GetDomain(dev);

    /// <summary>True when the device's DMA goes through page tables (a paging domain), so mappings are page-granular
    /// windows; false for identity/bypass or no IOMMU, where the device reaches all of memory.</summary>
    public bool IsTranslated(Device dev) => DomainOf(dev) is { } d && d.Type.IsPaging();

    /// <summary>Smallest page the device's current domain maps (the exposure granule), 0 when untranslated.</summary>
    public ulong GranuleOf(Device dev)
        => DomainOf(dev) is { } d && d.Type.IsPaging() && d.PgsizeBitmap != 0 ? IommuPgsize.MinPageSize(d.PgsizeBitmap) : 0;
}
