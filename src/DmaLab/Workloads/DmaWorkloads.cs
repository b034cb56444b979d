using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;

namespace DmaLab.Workloads;

/// <summary>
/// Runs the DMA-mapping workloads on a booted <see cref="DmaSystem"/>, picking the platform's devices by what they
/// are: a 32-bit master without an IOMMU (bounce), a non-coherent ISP (camera, correct and buggy), a non-coherent
/// media master (video buffers), and a device with a CMA area (or any) for FORCE_CONTIGUOUS. A workload whose
/// device the platform lacks reports that in a note instead of running.
/// </summary>
public static class DmaWorkloads
{
    public static IReadOnlyList<WorkloadResult> RunAll(DmaSystem sys, ulong seed)
    {
        var results = new List<WorkloadResult>();
        var devs = sys.Devices;
        var pa = sys.Memory.PageAllocator;

        var dev32 = devs.FirstOrDefault(d => d.DmaMask <= 0xffff_ffff && d.Spec.Iommu is null);
        if (dev32 is not null && sys.Memory.Zone(ZoneType.Normal).IsPopulated && sys.Memory.Memory.End.Value > dev32.DmaMask + 1)
        {
            var bufs = new List<PhysAddr>();
            for (int i = 0; i < 8 && pa.TryAllocPages(0, Gfp.Kernel | Gfp.NoWarn, out var p); i++) bufs.Add(p);
            results.Add(DmaBounce32Workload.Run(sys.Api, dev32, sys.Cache, bufs, seed));
            foreach (var b in bufs) pa.FreePages(b, 0);
        }
        else results.Add(Skipped(DmaBounce32Workload.Name, "no 32-bit master without IOMMU, or no memory above its mask"));

        var isp = devs.FirstOrDefault(d => !d.Coherent && d.Spec.Kind == "isp") ?? devs.FirstOrDefault(d => !d.Coherent);
        if (isp is not null)
        {
            foreach (bool buggy in new[] { false, true })
            {
                var frames = new List<PhysAddr>();
                for (int i = 0; i < 2 && pa.TryAllocPages(4, Gfp.Kernel | Gfp.Dma32 | Gfp.NoWarn, out var p); i++) frames.Add(p);
                results.Add(NoncoherentCameraWorkload.Run(sys.Api, isp, sys.Cache, frames, 64 << 10, seed, buggy));
                foreach (var f in frames) pa.FreePages(f, 4);
            }
        }
        else results.Add(Skipped(NoncoherentCameraWorkload.Name, "no non-coherent master"));

        var media = devs.FirstOrDefault(d => !d.Coherent && d.Spec.Kind is "gpu" or "gpu-2d" or "gpu-3d") ?? isp;
        if (media is not null) results.Add(NoKernelMappingVideoWorkload.Run(sys.Api, media, buffers: 16, bufferSize: 4UL << 20));
        else results.Add(Skipped(NoKernelMappingVideoWorkload.Name, "no non-coherent media master"));

        var cmaDev = devs.FirstOrDefault(d => d.DmaState.CmaArea is not null) ?? devs.FirstOrDefault();
        if (cmaDev is not null) results.Add(ForceContiguousCmaWorkload.Run(sys.Api, sys.Direct, cmaDev, 4UL << 20, 4));
        return results;
    }

    static WorkloadResult Skipped(string name, string why)
    {
        var r = new WorkloadResult { Name = name, Description = "not run" };
        r.Notes.Add(why);
        return r;
    }
}
