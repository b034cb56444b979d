using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Workloads;

/// <summary>
/// A non-coherent camera ISP filling frame buffers (streaming FROM_DEVICE mappings kept mapped across frames, as
/// V4L2 drivers do): the driver touches the buffer, maps it, and per frame hands it to the device
/// (dma_sync_single_for_device), the ISP writes the frame, and the CPU reads it after dma_sync_single_for_cpu.
/// The "buggy" variant skips dma_sync_single_for_cpu: the CPU reads stale cache lines, which the cache model
/// reports ("stale-cpu-read").
/// </summary>
public static class NoncoherentCameraWorkload
{
    public const string Name = "camera-noncoherent";

    public static WorkloadResult Run(DmaMapping api, Device isp, CpuCache cache, IReadOnlyList<PhysAddr> frames, ulong frameSize,
        ulong seed, bool buggy, int frameCount = 8)
    {
        var r = new WorkloadResult
        {
            Name = Name, Variant = buggy ? "buggy" : "correct",
            Description = buggy ? "non-coherent ISP frames read without dma_sync_single_for_cpu (bug)" : "non-coherent ISP frames with correct syncs",
        };
        var rng = Rng.For(seed, Name);
        var frame = new byte[frameSize];
        var seen = new byte[frameSize];
        var handles = new DmaAddr[frames.Count];
        // The driver clears each buffer with the CPU before giving it to the device (lines now cached).
        for (int b = 0; b < frames.Count; b++)
        {
            cache.CpuFill(frames[b], frameSize, 0);
            handles[b] = api.MapPage(0, isp, frames[b], frameSize, DmaDirection.FromDevice);
            if (api.MappingError(isp, handles[b])) { r.Notes.Add($"mapping frame {b} failed"); return r; }
        }
        long wrongFrames = 0;
        for (int f = 0; f < frameCount; f++)
        {
            int b = f % frames.Count;
            // CPU glances at the previous contents (e.g. a timestamp) before queueing: the lines are cached.
            cache.CpuRead(frames[b], seen.AsSpan(0, 64));
            api.SyncSingleForDevice(0, isp, handles[b], frameSize, DmaDirection.FromDevice);
            rng.NextU64();
            for (int k = 0; k < frame.Length; k++) frame[k] = (byte)(f * 31 + k);
            cache.DeviceWrite(isp.Name, isp.Coherent, DmaDirectOps.DmaToPhys(isp, handles[b]), frame);
            if (!buggy) api.SyncSingleForCpu(0, isp, handles[b], frameSize, DmaDirection.FromDevice);
            cache.CpuRead(frames[b], seen);
            if (!seen.AsSpan().SequenceEqual(frame)) wrongFrames++;
        }
        for (int b = 0; b < frames.Count; b++) api.UnmapPage(0, isp, handles[b], frameSize, DmaDirection.FromDevice);
        r.Add("frames", frameCount, "count").Add("frames-with-stale-data", wrongFrames, "count")
         .Add("cache-clean-lines", cache.Stats.CleanLines, "lines").Add("cache-invalidate-lines", cache.Stats.InvalidateLines, "lines");
        r.Findings.AddRange(cache.TakeFindings());
        r.Findings.AddRange(api.TakeFindings());
        if (api.Debug is not null) r.Findings.AddRange(api.Debug.TakeFindings());
        return r;
    }
}
