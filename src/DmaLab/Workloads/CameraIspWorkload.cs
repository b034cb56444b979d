using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Workloads;

/// <summary>
/// An omap3isp-like camera ISP on the DMA API (seed 001/issue 7: the ISP that carried its own IOVA manager, now on
/// iommu-dma): capture buffers are allocated with DMA_ATTR_NO_KERNEL_MAPPING (the kernel never touches pixels) and
/// exported to user space with dma_mmap_attrs(), as videobuf2-dma-contig does; the ISP writes each frame through
/// its DMA engine (through the IOMMU); user space reads it through the mmap. The statistics engine (H3A-like) writes
/// into a cacheable dma_alloc_noncoherent() buffer the driver reads with the CPU, so the non-coherent master needs
/// dma_sync_single_for_device() before each frame and dma_sync_single_for_cpu() before the CPU reads; doing both
/// must leave no stale read. Frames are 320×240 YUYV (153,600 bytes: the last page is half used).
/// </summary>
public static class CameraIspWorkload
{
    public const string Name = "camera-isp";
    public const string Summary = "omap3isp-like ISP: NO_KERNEL_MAPPING frames mmapped to user space, non-coherent stats buffer with syncs";
    public const ulong FrameBytes = 320 * 240 * 2;
    const ulong StatsBytes = 16 << 10;
    const int Buffers = 4;

    /// <summary>Runs on a booted machine (its options name the policy variant).</summary>
    public static WorkloadResult Run(Machine m, ulong seed) => Run(WorkloadContext.From(m), seed);

    public static WorkloadResult Run(WorkloadContext ctx, ulong seed, int frames = 12)
    {
        var r = new WorkloadResult { Name = Name, Variant = ctx.Policy, Description = Summary };
        var dev = ctx.FindDevice("isp") ?? ctx.Devices.FirstOrDefault(d => !d.Coherent && d.Spec.Iommu is not null)
            ?? ctx.Devices.FirstOrDefault(d => !d.Coherent) ?? ctx.Devices.FirstOrDefault();
        if (dev is null) { r.Notes.Add("not run: no device"); return r; }
        if (dev.Spec.Kind != "isp") r.Notes.Add($"no camera ISP: {dev.Name} ({dev.Spec.Kind}) plays it");
        if (dev.Coherent) r.Notes.Add($"{dev.Name} is coherent: the syncs are no-ops");
        var api = ctx.Api;
        var rng = Rng.For(seed, Name);
        var engine = ctx.EngineFor(dev);
        var exposure = new ExposureTracker(ctx.Memory.Memory.TotalBytes);
        long cleanBefore = ctx.Cache.Stats.CleanLines, invBefore = ctx.Cache.Stats.InvalidateLines;
        var before = WorkloadCounters.Take(ctx, [dev]);
        ulong granule = ctx.GranuleOf(dev);

        const DmaAttrs attrs = DmaAttrs.NoKernelMapping;
        var bufs = new List<(CpuAddr Cookie, DmaAddr Dma, DmaUserMapping User)>();
        for (int b = 0; b < Buffers; b++)
        {
            var cookie = api.AllocAttrs(0, dev, FrameBytes, out var dma, Gfp.Kernel, attrs);
            if (cookie.IsNull) { r.Notes.Add($"buffer {b}: dma_alloc_attrs(NO_KERNEL_MAPPING) failed"); break; }
            var vma = new UserVma(0x7f00_0000_0000UL + (ulong)b * (1UL << 20), (FrameBytes + PhysAddr.PageSize - 1) & ~(PhysAddr.PageSize - 1), 0);
            int ret = api.MmapAttrs(dev, vma, cookie, dma, FrameBytes, attrs, out var user);
            if (ret != 0) r.Notes.Add($"buffer {b}: dma_mmap_attrs failed ({ret})");
            bufs.Add((cookie, dma, user));
            Track(ctx, dev, exposure, dma, FrameBytes, granule, map: true);
        }
        var statsVa = api.AllocNoncoherent(0, dev, StatsBytes, out var statsDma, DmaDirection.FromDevice, Gfp.Kernel);
        if (bufs.Count == 0 || statsVa.IsNull)
        {
            r.Notes.Add("not run: buffer allocation failed");
            return Finish(r, ctx, dev, before, 0, exposure, cleanBefore, invBefore);
        }
        Track(ctx, dev, exposure, statsDma, StatsBytes, granule, map: true);

        ulong bytes = 0;
        long transferErrors = 0, userFrameErrors = 0, staleStats = 0, userMapped = bufs.Count(b => b.User.Size != 0);
        var line = new byte[640];
        var seen = new byte[640];
        var stats = new byte[StatsBytes];
        var statsSeen = new byte[StatsBytes];
        for (int f = 0; f < frames; f++)
        {
            var (_, dma, user) = bufs[f % bufs.Count];
            // the driver's CPU looked at last frame's statistics: their lines are in the cache now
            api.CpuRead(dev, statsVa, statsSeen.AsSpan(0, 64));
            api.SyncSingleForDevice(0, dev, statsDma, StatsBytes, DmaDirection.FromDevice);
            // the ISP writes the frame line by line, then the statistics
            byte tag = (byte)(rng.Next(1, 255));
            for (ulong off = 0; off < FrameBytes; off += (ulong)line.Length)
            {
                line.AsSpan().Fill((byte)(tag + (off / (ulong)line.Length)));
                var w = engine.Write(dma + off, line);
                bytes += w.Bytes; if (!w.Ok) transferErrors++;
            }
            stats.AsSpan().Fill(tag);
            var ws = engine.Write(statsDma, stats);
            bytes += ws.Bytes; if (!ws.Ok) transferErrors++;
            api.SyncSingleForCpu(0, dev, statsDma, StatsBytes, DmaDirection.FromDevice);
            api.CpuRead(dev, statsVa, statsSeen);
            if (statsSeen.AsSpan().IndexOfAnyExcept(tag) >= 0) staleStats++;
            // user space reads a few lines of the frame through its mapping
            for (int k = 0; k < 4; k++)
            {
                ulong off = rng.Next(FrameBytes / (ulong)line.Length) * (ulong)line.Length;
                if (!UserRead(ctx, dev, user, dma, off, seen) || seen.AsSpan().IndexOfAnyExcept((byte)(tag + off / (ulong)line.Length)) >= 0)
                    userFrameErrors++;
            }
        }

        foreach (var (cookie, dma, _) in bufs)
        {
            Track(ctx, dev, exposure, dma, FrameBytes, granule, map: false);
            api.FreeAttrs(0, dev, FrameBytes, cookie, dma, attrs);
        }
        Track(ctx, dev, exposure, statsDma, StatsBytes, granule, map: false);
        api.FreeNoncoherent(0, dev, StatsBytes, statsVa, statsDma, DmaDirection.FromDevice);
        r.Add("frames", frames, "count").Add("buffers", bufs.Count, "count").Add("user-mapped-buffers", userMapped, "count")
         .Add("transfer-errors", transferErrors, "count").Add("user-frame-errors", userFrameErrors, "count")
         .Add("stale-stats-reads", staleStats, "count");
        return Finish(r, ctx, dev, before, bytes, exposure, cleanBefore, invBefore);
    }

    /// <summary>Exposure bookkeeping page by page: iommu-dma backs a buffer with pages that need not be contiguous.</summary>
    static void Track(WorkloadContext ctx, Device dev, ExposureTracker exposure, DmaAddr dma, ulong size, ulong granule, bool map)
    {
        for (ulong off = 0; off < size; off += PhysAddr.PageSize)
        {
            ulong n = Math.Min(PhysAddr.PageSize, size - off);
            ulong phys = PhysOf(ctx, dev, dma + off).Value;
            if (map) exposure.OnMap(phys, n, granule); else exposure.OnUnmap(phys, n, granule);
        }
    }

    /// <summary>The physical address behind a device address: through the device's page tables when translated.</summary>
    static PhysAddr PhysOf(WorkloadContext ctx, Device dev, DmaAddr dma)
    {
        if (ctx.DomainOf(dev) is { } d && d.Type.IsPaging()) return new PhysAddr(IommuCore.IovaToPhys(d, dma.Value));
        return DmaDirectOps.DmaToPhys(dev, dma);
    }

    /// <summary>A user-space load through the dma_mmap_attrs() mapping (uncached for a non-coherent device).</summary>
    static bool UserRead(WorkloadContext ctx, Device dev, DmaUserMapping user, DmaAddr dma, ulong off, Span<byte> dst)
    {
        if (user.Size == 0) return false;
        ulong done = 0;
        while (done < (ulong)dst.Length)
        {
            ulong a = off + done;
            int n = (int)Math.Min((ulong)dst.Length - done, PhysAddr.PageSize - (a & (PhysAddr.PageSize - 1)));
            var phys = PhysOf(ctx, dev, dma + a);
            var span = dst.Slice((int)done, n);
            var rc = user.Prot is CpuMappingKind.Linear or CpuMappingKind.RemapCached ? ctx.Cache.CpuRead(phys, span) : ctx.Memory.Memory.Read(phys, span);
            if (rc != MemAccess.Ok) return false;
            done += (ulong)n;
        }
        return true;
    }

    static WorkloadResult Finish(WorkloadResult r, WorkloadContext ctx, Device dev, WorkloadCounters before, ulong bytes, ExposureTracker exposure,
        long cleanBefore, long invBefore)
    {
        before.Finish(r, ctx, [dev], bytes);
        exposure.Report(r);
        r.Add("cache-clean-lines", ctx.Cache.Stats.CleanLines - cleanBefore, "lines")
         .Add("cache-invalidate-lines", ctx.Cache.Stats.InvalidateLines - invBefore, "lines");
        WorkloadFindings.Collect(ctx, r);
        return r;
    }
}
