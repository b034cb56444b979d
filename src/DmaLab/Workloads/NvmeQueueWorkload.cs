using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Workloads;

/// <summary>
/// NVMe-like block I/O (Linux: drivers/nvme/host/pci.c): one submission/completion queue pair per CPU in coherent
/// memory (dma_alloc_coherent, 64-byte SQEs, 16-byte CQEs), I/Os of 4 KiB to 1 MiB built from scattered page-cache
/// pages (some starting at a 512-byte sector offset, as O_DIRECT buffers may), mapped with dma_map_sg() and a
/// min_align_mask of 4 KiB − 1 (nvme_pci_alloc_dev: dma_set_min_align_mask(NVME_CTRL_PAGE_SIZE - 1)) so PRP entries
/// keep their offset within the controller page. The controller fetches each SQE, moves the data by the mapped
/// segments, posts a CQE; the CPU that submitted completes and unmaps. Up to <c>queueDepth</c> I/Os per queue are in
/// flight and complete in a seeded order.
/// </summary>
public static class NvmeQueueWorkload
{
    public const string Name = "nvme-queue";
    public const string Summary = "NVMe-like SQ/CQ per CPU, 4 KiB-1 MiB I/O via dma_map_sg, min_align_mask 4 KiB-1";
    const ulong CtrlPageMask = 0xfff;
    static readonly int[] SizeKiB = [4, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    sealed class Io
    {
        public readonly List<(PhysAddr Page, int Order)> Pages = new();
        public required Scatterlist Sg;
        public int Nents, Mapped;
        public DmaDirection Dir;
        public ulong Bytes;
        public int Queue, Slot;
    }

    /// <summary>Runs on a booted machine (its options name the policy variant).</summary>
    public static WorkloadResult Run(Machine m, ulong seed) => Run(WorkloadContext.From(m), seed);

    public static WorkloadResult Run(WorkloadContext ctx, ulong seed, int ios = 192, int queueDepth = 16)
    {
        var r = new WorkloadResult { Name = Name, Variant = ctx.Policy, Description = Summary };
        var dev = ctx.FindDevice("nvme") ?? ctx.Devices.FirstOrDefault(d => d.IsPci) ?? ctx.Devices.FirstOrDefault(d => d.Spec.Iommu is not null);
        if (dev is null) { r.Notes.Add("not run: no NVMe, PCI or IOMMU-backed device"); return r; }
        if (dev.Spec.Kind != "nvme") r.Notes.Add($"no NVMe controller: {dev.Name} ({dev.Spec.Kind}) plays it");
        if (dev.MinAlignMask == 0) dev.MinAlignMask = CtrlPageMask; // the driver's dma_set_min_align_mask()
        var api = ctx.Api;
        var pa = ctx.Memory.PageAllocator;
        var rng = Rng.For(seed, Name);
        int queues = Math.Clamp(ctx.Platform.Cpus, 1, 4);
        // nvme_pci_alloc_dev(): max_hw_sectors is capped by dma_max_mapping_size() (256 KiB when swiotlb bounces)
        ulong maxIo = Math.Min(1UL << 20, api.MaxMappingSize(dev));
        var engine = ctx.EngineFor(dev);
        var exposure = new ExposureTracker(ctx.Memory.Memory.TotalBytes);
        var before = WorkloadCounters.Take(ctx, [dev]);

        // admin: the queue memory (nvme_alloc_queue: dma_alloc_coherent for the CQ and SQ)
        var sq = new (CpuAddr Cpu, DmaAddr Dma)[queues];
        var cq = new (CpuAddr Cpu, DmaAddr Dma)[queues];
        for (int q = 0; q < queues; q++)
        {
            sq[q].Cpu = api.AllocCoherent(q, dev, (ulong)queueDepth * 64, out sq[q].Dma, Gfp.Kernel);
            cq[q].Cpu = api.AllocCoherent(q, dev, (ulong)queueDepth * 16, out cq[q].Dma, Gfp.Kernel);
            if (sq[q].Cpu.IsNull || cq[q].Cpu.IsNull) { r.Notes.Add($"queue {q}: coherent allocation failed"); return Finish(r, ctx, dev, before, 0, exposure); }
        }

        ulong bytes = 0;
        long submitted = 0, completed = 0, mapFailures = 0, transferErrors = 0, alignViolations = 0, dataErrors = 0, dmaSegments = 0;
        var sqe = new byte[64];
        var cqe = new byte[16];
        var data = new byte[PhysAddr.PageSize];
        var inflight = new List<Io>();
        while (submitted < ios || inflight.Count > 0)
        {
            // submit on every queue up to the queue depth
            for (int q = 0; q < queues && submitted < ios; q++)
                for (int slot = 0; slot < queueDepth && submitted < ios; slot++)
                {
                    var io = BuildIo(pa, rng, q, slot, maxIo);
                    if (io is null) { r.Notes.Add("page allocation failed building an I/O"); submitted = ios; break; }
                    io.Mapped = api.MapSg(q, dev, io.Sg, io.Nents, io.Dir);
                    submitted++;
                    if (io.Mapped <= 0) { mapFailures++; FreePages(pa, io); continue; }
                    io.Sg.MappedNents = io.Mapped;
                    ulong granule = ctx.GranuleOf(dev);
                    for (int i = 0; i < io.Nents; i++) exposure.OnMap(io.Sg[i].Phys.Value, io.Sg[i].Length, granule);
                    // the first PRP keeps the buffer's offset within the controller page (min_align_mask)
                    if (((io.Sg[0].DmaAddress.Value ^ io.Sg[0].Phys.Value) & dev.MinAlignMask) != 0) alignViolations++;
                    dmaSegments += io.Mapped;
                    BitConverter.TryWriteBytes(sqe, (ulong)submitted);
                    api.CpuWrite(dev, sq[q].Cpu + (ulong)slot * 64, sqe);
                    inflight.Add(io);
                }
            // the controller works through the queues; completions arrive in a seeded order
            for (int n = inflight.Count; n > 0; n--)
            {
                int k = (int)rng.Next((ulong)inflight.Count);
                var io = inflight[k];
                inflight.RemoveAt(k);
                var q = io.Queue;
                if (!engine.Read(sq[q].Dma + (ulong)io.Slot * 64, sqe).Ok) transferErrors++;
                for (int i = 0; i < io.Mapped; i++)
                {
                    ulong a = io.Sg[i].DmaAddress.Value, left = io.Sg[i].DmaLength;
                    while (left > 0)
                    {
                        int len = (int)Math.Min(left, (ulong)data.Length - (a & (PhysAddr.PageSize - 1)));
                        if (io.Dir == DmaDirection.FromDevice)
                        {
                            data.AsSpan(0, len).Fill((byte)(io.Slot + 1));
                            var w = engine.Write(new DmaAddr(a), data.AsSpan(0, len));
                            bytes += w.Bytes; if (!w.Ok) transferErrors++;
                        }
                        else
                        {
                            var rd = engine.Read(new DmaAddr(a), data.AsSpan(0, len));
                            bytes += rd.Bytes; if (!rd.Ok) transferErrors++;
                        }
                        a += (ulong)len; left -= (ulong)len;
                    }
                }
                BitConverter.TryWriteBytes(cqe, (ulong)io.Slot);
                if (!engine.Write(cq[q].Dma + (ulong)io.Slot * 16, cqe).Ok) transferErrors++;
                // nvme_pci_complete_rq -> nvme_unmap_data on the submitting CPU
                api.UnmapSg(q, dev, io.Sg, io.Nents, io.Dir);
                ulong granule = ctx.GranuleOf(dev);
                for (int i = 0; i < io.Nents; i++) exposure.OnUnmap(io.Sg[i].Phys.Value, io.Sg[i].Length, granule);
                if (io.Dir == DmaDirection.FromDevice)
                {
                    ctx.Cache.CpuRead(io.Sg[0].Phys, data.AsSpan(0, 1));
                    if (data[0] != (byte)(io.Slot + 1))
                    {
                        dataErrors++;
                        r.Findings.Add(new Finding("data-error", dev.Name, io.Sg[0].Phys.Value,
                            $"after the device wrote 0x{(byte)(io.Slot + 1):x2} to the {io.Bytes}-byte read at phys 0x{io.Sg[0].Phys.Value:x} (dma 0x{io.Sg[0].DmaAddress.Value:x}, {io.Mapped} of {io.Nents} segments mapped) and it was unmapped, the CPU read 0x{data[0]:x2}"));
                    }
                }
                FreePages(pa, io);
                completed++;
            }
        }
        for (int q = 0; q < queues; q++)
        {
            api.FreeCoherent(q, dev, (ulong)queueDepth * 64, sq[q].Cpu, sq[q].Dma);
            api.FreeCoherent(q, dev, (ulong)queueDepth * 16, cq[q].Cpu, cq[q].Dma);
        }
        r.Add("max-io-size", maxIo, "bytes").Add("ios", completed, "count").Add("queues", queues, "count").Add("queue-depth", queueDepth, "count")
         .Add("map-failures", mapFailures, "count").Add("transfer-errors", transferErrors, "count")
         .Add("dma-segments", dmaSegments, "count").Add("min-align-violations", alignViolations, "count")
         .Add("data-errors", dataErrors, "count");
        return Finish(r, ctx, dev, before, bytes, exposure);
    }

    /// <summary>One I/O: a size from 4 KiB to 1 MiB, built from order-0..2 page chunks (scattered, as page-cache pages
    /// are), a quarter of them starting at a 512-byte sector offset within the first page.</summary>
    static Io? BuildIo(PageAllocator pa, Rng rng, int queue, int slot, ulong maxIo)
    {
        ulong size = (ulong)SizeKiB[rng.Next(0, SizeKiB.Length)] << 10;
        uint offset = rng.Chance(0.25) ? (uint)rng.Next(1, 8) * 512 : 0;
        if (size + offset > maxIo) { size = maxIo; offset = 0; }
        var io = new Io { Sg = new Scatterlist(8), Dir = rng.Chance(0.5) ? DmaDirection.FromDevice : DmaDirection.ToDevice, Queue = queue, Slot = slot, Bytes = size };
        var chunks = new List<(PhysAddr, uint)>();
        ulong left = size + offset;
        while (left > 0)
        {
            int order = rng.Next(0, 3);
            while (order > 0 && (PhysAddr.PageSize << order) > left + PhysAddr.PageSize) order--;
            if (!pa.TryAllocPages(order, Gfp.Kernel | Gfp.NoWarn, out var page)) { FreePages(pa, io); return null; }
            io.Pages.Add((page, order));
            ulong chunk = Math.Min(left, PhysAddr.PageSize << order);
            chunks.Add((page, (uint)chunk));
            left -= chunk;
        }
        io.Sg.Init(chunks.Count);
        for (int i = 0; i < chunks.Count; i++)
        {
            var (page, len) = chunks[i];
            if (i == 0) io.Sg.Set(0, page, offset, len - offset);
            else io.Sg.Set(i, page, 0, len);
        }
        io.Nents = chunks.Count;
        return io;
    }

    static void FreePages(PageAllocator pa, Io io)
    {
        foreach (var (p, o) in io.Pages) pa.FreePages(p, o);
        io.Pages.Clear();
    }

    static WorkloadResult Finish(WorkloadResult r, WorkloadContext ctx, Device dev, WorkloadCounters before, ulong bytes, ExposureTracker exposure)
    {
        before.Finish(r, ctx, [dev], bytes);
        exposure.Report(r);
        WorkloadFindings.Collect(ctx, r);
        return r;
    }
}
