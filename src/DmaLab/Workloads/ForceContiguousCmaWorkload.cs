using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;

namespace DmaLab.Workloads;

/// <summary>
/// Large physically contiguous coherent buffers (DMA_ATTR_FORCE_CONTIGUOUS) on dma-direct: served by
/// dma_alloc_contiguous() from the device's or the default CMA area (blocking, more than one page), migrating
/// borrowed movable pages out of the area. Reports CMA allocations, migrations and failures, and checks the
/// buffers are contiguous and inside the area.
/// </summary>
public static class ForceContiguousCmaWorkload
{
    public const string Name = "dma-force-contiguous-cma";

    public static WorkloadResult Run(DmaMapping api, DmaDirectOps ops, Device dev, ulong bufferSize, int count)
    {
        var r = new WorkloadResult { Name = Name, Description = "DMA_ATTR_FORCE_CONTIGUOUS coherent buffers from CMA (dma_alloc_contiguous)" };
        var area = dev.DmaState.CmaArea ?? ops.MemorySystem.DefaultCma;
        if (area is null) { r.Notes.Add("no CMA area for this device"); return r; }
        var before = area.Stats;
        long cmaBefore = ops.CmaAllocs;
        var got = new List<(CpuAddr C, DmaAddr D)>();
        int outside = 0;
        for (int i = 0; i < count; i++)
        {
            var c = api.AllocAttrs(0, dev, bufferSize, out var d, Gfp.Kernel, DmaAttrs.ForceContiguous);
            if (c.IsNull) break;
            got.Add((c, d));
            var phys = DmaDirectOps.DmaToPhys(dev, d);
            if (!area.Range.Contains(phys, bufferSize)) outside++;
        }
        var after = area.Stats;
        r.Add("buffers-requested", count, "count").Add("buffers-allocated", got.Count, "count")
         .Add("buffer-size", bufferSize, "bytes").Add("cma-allocations", ops.CmaAllocs - cmaBefore, "count")
         .Add("buffers-outside-cma", outside, "count").Add("cma-area-size", area.Size, "bytes")
         .Add("cma-pages-migrated", after.PagesMigrated - before.PagesMigrated, "pages")
         .Add("cma-failures", after.Failures - before.Failures, "count");
        foreach (var (c, d) in got) api.FreeAttrs(0, dev, bufferSize, c, d, DmaAttrs.ForceContiguous);
        r.Findings.AddRange(api.TakeFindings());
        if (api.Debug is not null) r.Findings.AddRange(api.Debug.TakeFindings());
        return r;
    }
}
