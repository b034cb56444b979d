using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Workloads;

/// <summary>
/// Every built-in workload by name: the memory-management ones (zone and CMA pressure), the DMA-API ones (32-bit
/// bounce, non-coherent camera correct/buggy, NO_KERNEL_MAPPING video pool, FORCE_CONTIGUOUS CMA) and the IOMMU
/// driver workloads (NVMe queues, NIC rings, DRM composite, camera ISP), the last under strict, lazy and
/// passthrough. <see cref="RunAll(PlatformSpec, ulong, Func{string, bool}?)"/> boots a fresh <see cref="Machine"/>
/// per workload and policy so every run is independent and the same seed gives the same results.
/// </summary>
public static class WorkloadCatalog
{
    static readonly string[] IommuPolicies = [.. WorkloadPolicy.Default];
    // The DMA-API workloads were written for dma-direct (they read device memory by physical address): they run
    // with the IOMMU in passthrough so every master is on dma-direct, as the DMA layer alone boots it.
    static readonly string[] DirectOnly = [WorkloadPolicy.Passthrough];
    static readonly string[] PlatformOnly = [WorkloadPolicy.Platform];

    public static IReadOnlyList<WorkloadEntry> All { get; } =
    [
        new(ZonePressureWorkload.Name, "buddy allocator under zone pressure: fragmentation, watermarks, fallback", PlatformOnly,
            (c, s) => [ZonePressureWorkload.Run(c.Memory, s)]),
        new(CmaPressureWorkload.Name, "CMA areas shared with movable allocations: migration on cma_alloc", PlatformOnly,
            (c, s) => [CmaPressureWorkload.Run(c.Memory, s)]),
        new(DmaBounce32Workload.Name, "32-bit DMA mask device with buffers above 4 GiB: swiotlb bounce buffering", DirectOnly, RunBounce32),
        new(NoncoherentCameraWorkload.Name, "non-coherent ISP frames, correct and with a missing dma_sync_single_for_cpu", DirectOnly, RunNoncoherentCamera),
        new(NoKernelMappingVideoWorkload.Name, "video buffers with and without DMA_ATTR_NO_KERNEL_MAPPING: vmalloc space", DirectOnly, RunVideo),
        new(ForceContiguousCmaWorkload.Name, "DMA_ATTR_FORCE_CONTIGUOUS coherent buffers from CMA", DirectOnly, RunForceContiguous),
        new(IommuForceContiguousWorkload.Name, IommuForceContiguousWorkload.Summary, [WorkloadPolicy.Strict],
            (c, s) => IommuForceContiguousWorkload.Run(c)),
        new(NvmeQueueWorkload.Name, NvmeQueueWorkload.Summary, IommuPolicies, (c, s) => [NvmeQueueWorkload.Run(c, s)]),
        new(NicRingsWorkload.Name, NicRingsWorkload.Summary, IommuPolicies, (c, s) => [NicRingsWorkload.Run(c, s)]),
        new(DrmCompositeWorkload.Name, DrmCompositeWorkload.Summary, IommuPolicies, (c, s) => [DrmCompositeWorkload.Run(c, s)]),
        new(CameraIspWorkload.Name, CameraIspWorkload.Summary, IommuPolicies, (c, s) => [CameraIspWorkload.Run(c, s)]),
    ];

    public static IEnumerable<string> Names => All.Select(e => e.Name);

    /// <summary>The entry named <paramref name="name"/>; throws naming the known workloads otherwise.</summary>
    public static WorkloadEntry Get(string name)
        => All.FirstOrDefault(e => e.Name == name)
           ?? throw new ArgumentException($"unknown workload '{name}': expected one of {string.Join(", ", Names)}", nameof(name));

    /// <summary>Runs every workload <paramref name="filter"/> accepts (all when null), each under its policies, in
    /// catalog order, lazily: one result list per fresh machine.</summary>
    public static IEnumerable<WorkloadResult> RunAll(PlatformSpec spec, ulong seed, Func<string, bool>? filter = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        foreach (var e in All)
        {
            if (filter is not null && !filter(e.Name)) continue;
            foreach (var policy in e.Policies)
                foreach (var r in Run(e, spec, seed, policy)) yield return r;
        }
    }

    /// <summary>Runs the named workloads (all when <paramref name="names"/> is null or empty); unknown names throw.</summary>
    public static IEnumerable<WorkloadResult> RunAll(PlatformSpec spec, ulong seed, IReadOnlyCollection<string>? names)
    {
        if (names is null || names.Count == 0) return RunAll(spec, seed, (Func<string, bool>?)null);
        foreach (var n in names) Get(n);
        return RunAll(spec, seed, names.Contains);
    }

    /// <summary>One workload under one policy on a freshly booted machine. A DmaLab exception inside the workload is
    /// reported as a finding of kind "dmalab-error" so a whole `dmalab run` still completes.</summary>
    public static IReadOnlyList<WorkloadResult> Run(WorkloadEntry entry, PlatformSpec spec, ulong seed, string policy)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var ctx = WorkloadBoot.Boot(spec, policy, seed);
        IReadOnlyList<WorkloadResult> results;
        try
        {
            results = entry.Run(ctx, seed);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var r = new WorkloadResult { Name = entry.Name, Description = entry.Description, Variant = VariantOf(entry, policy, "") };
            r.Notes.Add($"not run: the model failed ({ex.GetType().Name}: {ex.Message})");
            r.Findings.Add(new Finding("dmalab-error", "", 0, $"{entry.Name} under {policy}: {ex}"));
            return [r];
        }
        var list = new List<WorkloadResult>(results.Count);
        foreach (var r in results) list.Add(Label(r, entry, policy));
        return list;
    }

    /// <summary>The result with the policy in its variant (kept as is for single-policy workloads).</summary>
    static WorkloadResult Label(WorkloadResult r, WorkloadEntry entry, string policy)
    {
        string variant = VariantOf(entry, policy, r.Variant);
        if (variant == r.Variant && r.Description.Length > 0) return r;
        var copy = new WorkloadResult { Name = r.Name, Variant = variant, Description = r.Description.Length > 0 ? r.Description : entry.Description };
        copy.Metrics.AddRange(r.Metrics);
        copy.Findings.AddRange(r.Findings);
        copy.Expected.AddRange(r.Expected);
        copy.Notes.AddRange(r.Notes);
        foreach (var (k, v) in r.Series) copy.Series[k] = v;
        return copy;
    }

    static string VariantOf(WorkloadEntry entry, string policy, string own)
    {
        if (!entry.PolicySensitive) return own;
        if (own.Length == 0 || own == policy) return policy;
        return $"{policy}/{own}";
    }

    // ------------------------------------------------------------------ the DMA-API workloads' device choices

    static IReadOnlyList<WorkloadResult> RunBounce32(WorkloadContext c, ulong seed)
    {
        var pa = c.Memory.PageAllocator;
        var dev = c.Devices.FirstOrDefault(d => d.DmaMask <= 0xffff_ffff && d.Spec.Iommu is null);
        if (dev is null || !c.Memory.Zone(ZoneType.Normal).IsPopulated || c.Memory.Memory.End.Value <= dev.DmaMask + 1)
            return [Skipped(DmaBounce32Workload.Name, "no 32-bit master without IOMMU, or no memory above its mask")];
        var bufs = new List<PhysAddr>();
        for (int i = 0; i < 8 && pa.TryAllocPages(0, Gfp.Kernel | Gfp.NoWarn, out var p); i++) bufs.Add(p);
        var r = DmaBounce32Workload.Run(c.Api, dev, c.Cache, bufs, seed);
        foreach (var b in bufs) pa.FreePages(b, 0);
        return [r];
    }

    static IReadOnlyList<WorkloadResult> RunNoncoherentCamera(WorkloadContext c, ulong seed)
    {
        var isp = NoncoherentMaster(c, "isp");
        if (isp is null) return [Skipped(NoncoherentCameraWorkload.Name, "no non-coherent master")];
        var pa = c.Memory.PageAllocator;
        var results = new List<WorkloadResult>();
        foreach (bool buggy in new[] { false, true })
        {
            var frames = new List<PhysAddr>();
            for (int i = 0; i < 2 && pa.TryAllocPages(4, Gfp.Kernel | Gfp.Dma32 | Gfp.NoWarn, out var p); i++) frames.Add(p);
            if (frames.Count == 0) return [Skipped(NoncoherentCameraWorkload.Name, "no 64 KiB frame buffer below 4 GiB for the ISP")];
            results.Add(NoncoherentCameraWorkload.Run(c.Api, isp, c.Cache, frames, 64 << 10, seed, buggy));
            foreach (var f in frames) pa.FreePages(f, 4);
        }
        return results;
    }

    static IReadOnlyList<WorkloadResult> RunVideo(WorkloadContext c, ulong seed)
    {
        var media = NoncoherentMaster(c, "gpu", "gpu-2d", "gpu-3d", "isp");
        return media is null
            ? [Skipped(NoKernelMappingVideoWorkload.Name, "no non-coherent media master")]
            : [NoKernelMappingVideoWorkload.Run(c.Api, media, buffers: 16, bufferSize: 4UL << 20)];
    }

    static IReadOnlyList<WorkloadResult> RunForceContiguous(WorkloadContext c, ulong seed)
    {
        var dev = c.Devices.FirstOrDefault(d => d.DmaState.CmaArea is not null) ?? c.Devices.FirstOrDefault();
        if (dev is null || c.Direct is null) return [Skipped(ForceContiguousCmaWorkload.Name, "no device")];
        return [ForceContiguousCmaWorkload.Run(c.Api, c.Direct, dev, 4UL << 20, 4)];
    }

    /// <summary>A non-coherent master on dma-direct, preferring the given kinds.</summary>
    static Device? NoncoherentMaster(WorkloadContext c, params string[] kinds)
    {
        bool Direct(Device d) => !d.Coherent && !c.IsTranslated(d);
        foreach (var k in kinds)
            foreach (var d in c.Devices)
                if (d.Spec.Kind == k && Direct(d)) return d;
        return c.Devices.FirstOrDefault(Direct);
    }

    static WorkloadResult Skipped(string name, string why)
    {
        var r = new WorkloadResult { Name = name, Description = "not run" };
        r.Notes.Add("not run: " + why);
        return r;
    }
}
