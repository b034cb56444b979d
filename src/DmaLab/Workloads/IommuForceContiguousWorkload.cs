using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;

namespace DmaLab.Workloads;

/// <summary>
/// DMA_ATTR_FORCE_CONTIGUOUS on a device behind an IOMMU (seed 004: "could be useful to reduce the SMMU TLB
/// pressure"). The same frame buffers are allocated twice with dma_alloc_attrs(), without and with the attribute,
/// and the device scans each one front to back. Without it iommu-dma builds the buffer from separate pages
/// (iommu_dma_alloc_remap(): the largest orders the IOMMU's pgsize_bitmap allows, falling back to smaller ones);
/// with it the buffer is one physically contiguous block from CMA (iommu_dma_alloc_pages() through
/// dma_alloc_contiguous()), which __iommu_dma_map() covers with block mappings (2 MiB on a 4 KiB granule) wherever
/// IOVA and physical address are both aligned (Linux: drivers/iommu/dma-iommu.c, iommu_dma_alloc()). Reports each
/// variant's leaf page sizes (walked in the domain's page table), the IOTLB entries needed to cover the buffers, and
/// the measured IOTLB lookups, misses and table walks of the scans.
/// </summary>
public static class IommuForceContiguousWorkload
{
    public const string Name = "iommu-force-contiguous";
    public const string Summary = "frame buffers with and without DMA_ATTR_FORCE_CONTIGUOUS behind an SMMU: page sizes, IOTLB entries, misses, walks";
    const ulong FrameBytes = 8UL << 20; // a 1920x1080 XRGB frame rounded to 8 MiB
    const int Frames = 4;
    const int ScanStep = 4096, Passes = 2;

    public static IReadOnlyList<WorkloadResult> Run(WorkloadContext ctx)
    {
        var dev = ctx.FindDevice("isp", "gpu", "gpu-2d", "gpu-3d") is { } k && ctx.IsTranslated(k) ? k
            : ctx.Devices.FirstOrDefault(ctx.IsTranslated);
        if (dev is null)
        {
            var skipped = new WorkloadResult { Name = Name, Description = "not run" };
            skipped.Notes.Add("not run: no device behind a translating IOMMU domain");
            return [skipped];
        }
        var results = new List<WorkloadResult> { Variant(ctx, dev, DmaAttrs.None, "pages"), Variant(ctx, dev, DmaAttrs.ForceContiguous, "force-contiguous") };
        // The same after the buddy allocator is fragmented (every other page of the unmovable free memory held):
        // high orders fail, the page path falls back to small pages, CMA still gives one block.
        var held = Fragment(ctx);
        results.Add(Variant(ctx, dev, DmaAttrs.None, "pages-fragmented"));
        results.Add(Variant(ctx, dev, DmaAttrs.ForceContiguous, "force-contiguous-fragmented"));
        foreach (var p in held) ctx.Memory.PageAllocator.FreePages(p, 0);
        return results;
    }

    /// <summary>Takes every free unmovable page, then gives back every other one: free memory is left in order-0
    /// blocks. Returns the pages still held.</summary>
    static List<PhysAddr> Fragment(WorkloadContext ctx)
    {
        var pa = ctx.Memory.PageAllocator;
        var all = new List<PhysAddr>();
        while (all.Count < 4 << 20 && pa.TryAllocPages(0, Gfp.Kernel | Gfp.NoWarn, out var p)) all.Add(p);
        var held = new List<PhysAddr>(all.Count / 2 + 1);
        for (int i = 0; i < all.Count; i++)
            if (i % 2 == 0) pa.FreePages(all[i], 0); else held.Add(all[i]);
        return held;
    }

    static WorkloadResult Variant(WorkloadContext ctx, Device dev, DmaAttrs attrs, string variant)
    {
        var r = new WorkloadResult { Name = Name, Variant = variant, Description = Summary };
        var api = ctx.Api;
        var pgtable = ctx.DomainOf(dev)!.Pgtable;
        var bufs = new List<(CpuAddr Cpu, DmaAddr Dma)>();
        for (int i = 0; i < Frames; i++)
        {
            var c = api.AllocAttrs(0, dev, FrameBytes, out var d, Gfp.Kernel, attrs);
            if (c.IsNull) { r.Notes.Add($"frame {i}: dma_alloc_attrs failed"); break; }
            bufs.Add((c, d));
        }
        // Leaves of the page table over each buffer: one IOTLB entry each when the device touches the whole buffer.
        var leaves = new SortedDictionary<ulong, long>();
        if (pgtable is not null)
            foreach (var (_, d) in bufs)
                for (ulong iova = d.Value, end = d.Value + FrameBytes; iova < end;)
                {
                    var w = pgtable.Walk(iova);
                    if (!w.Ok || w.PageSize == 0) { leaves[0] = leaves.GetValueOrDefault(0UL) + 1; iova += 4096; continue; }
                    leaves[w.PageSize] = leaves.GetValueOrDefault(w.PageSize) + 1;
                    iova = (iova & ~(w.PageSize - 1)) + w.PageSize;
                }
        var engine = ctx.EngineFor(dev);
        var before = WorkloadCounters.Take(ctx, [dev]);
        var chunk = new byte[64];
        long faults = 0;
        for (int pass = 0; pass < Passes; pass++)
            foreach (var (_, d) in bufs)
                for (ulong off = 0; off < FrameBytes; off += ScanStep)
                    if (engine.Read(new DmaAddr(d.Value + off), chunk).Status == DmaStatus.IommuFault) faults++;
        var after = WorkloadCounters.Take(ctx, [dev]);
        long blocks = leaves.Where(kv => kv.Key >= 2UL << 20).Sum(kv => kv.Value);
        r.Add("frames", bufs.Count, "count").Add("frame-size", FrameBytes, "bytes")
         .Add("iotlb-entries", leaves.Values.Sum(), "count")
         .Add("block-mappings", blocks, "count")
         .Add("page-mappings-4k", leaves.GetValueOrDefault(4096UL), "count")
         .Add("iotlb-lookups", after.IotlbLookups - before.IotlbLookups, "count")
         .Add("iotlb-misses", after.IotlbMisses - before.IotlbMisses, "count")
         .Add("page-walks", after.Walks - before.Walks, "count")
         .Add("scan-faults", faults, "count");
        r.Notes.Add($"{dev.Name}: leaf sizes " + string.Join(", ", leaves.Select(kv => kv.Key == 0 ? $"unmapped {kv.Value}" : $"{Size(kv.Key)} ×{kv.Value}"))
            + $"; {Passes} scans of {ScanStep}-byte strides");
        foreach (var (c, d) in bufs) api.FreeAttrs(0, dev, FrameBytes, c, d, attrs);
        r.Findings.AddRange(api.TakeFindings());
        if (api.Debug is not null) r.Findings.AddRange(api.Debug.TakeFindings());
        return r;
    }

    static string Size(ulong b) => b >= 1UL << 30 ? $"{b >> 30} GiB" : b >= 1UL << 20 ? $"{b >> 20} MiB" : $"{b >> 10} KiB";
}
