using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;

namespace DmaLab.Workloads;

/// <summary>
/// A V4L2-style video buffer pool that only exports its buffers to user space (seed 002): allocated once with
/// DMA_ATTR_NO_KERNEL_MAPPING and once without, to show the vmalloc space the attribute saves on a non-coherent
/// device (which would otherwise get a remap per buffer), and where the plain variant runs out of vmalloc space.
/// Buffers are mmap()ed to user space either way. Touching a cookie with the CPU is reported.
/// </summary>
public static class NoKernelMappingVideoWorkload
{
    public const string Name = "video-no-kernel-mapping";

    public static WorkloadResult Run(DmaMapping api, Device dev, int buffers, ulong bufferSize)
    {
        var r = new WorkloadResult { Name = Name, Description = "video buffers with and without DMA_ATTR_NO_KERNEL_MAPPING: vmalloc space" };
        var kva = api.Kva;
        foreach (bool noMap in new[] { false, true })
        {
            ulong usedBefore = kva.VmallocUsed, savedBefore = kva.VmallocSavedByNoKernelMapping;
            long failBefore = kva.VmallocFailures;
            var attrs = noMap ? DmaAttrs.NoKernelMapping : DmaAttrs.None;
            var got = new List<(CpuAddr C, DmaAddr D)>();
            ulong peak = usedBefore;
            int mmapped = 0;
            for (int i = 0; i < buffers; i++)
            {
                var c = api.AllocAttrs(0, dev, bufferSize, out var d, Gfp.Kernel, attrs);
                if (c.IsNull) break;
                got.Add((c, d));
                peak = Math.Max(peak, kva.VmallocUsed);
                if (api.MmapAttrs(dev, new UserVma(0x7f00_0000_0000UL + (ulong)i * bufferSize, bufferSize, 0), c, d, bufferSize, attrs, out _) == 0) mmapped++;
            }
            string v = noMap ? "no-kernel-mapping" : "kernel-mapping";
            r.Add($"{v}-buffers-allocated", got.Count, "count")
             .Add($"{v}-buffers-mmapped", mmapped, "count")
             .Add($"{v}-vmalloc-used", peak - usedBefore, "bytes")
             .Add($"{v}-vmalloc-failures", kva.VmallocFailures - failBefore, "count");
            if (noMap)
            {
                r.Add("vmalloc-saved", kva.VmallocSavedByNoKernelMapping - savedBefore, "bytes");
                // A driver bug: memset through the cookie.
                if (got.Count > 0) api.CpuWrite(dev, got[0].C, new byte[16]);
            }
            foreach (var (c, d) in got) api.FreeAttrs(0, dev, bufferSize, c, d, attrs);
        }
        r.Add("vmalloc-size", kva.VmallocSize, "bytes");
        r.Findings.AddRange(api.TakeFindings());
        if (api.Debug is not null) r.Findings.AddRange(api.Debug.TakeFindings());
        return r;
    }
}
