using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Workloads;

/// <summary>
/// A NIC's rx/tx rings (the pattern of e1000e/ixgbe-style drivers): descriptor rings in coherent memory; rx buffers
/// are half pages (2 KiB, two per page as page-splitting drivers do) mapped DMA_FROM_DEVICE and refilled in batches
/// once enough were consumed; tx maps each packet's linear data (64–1514 bytes anywhere in a kmalloc'ed page)
/// DMA_TO_DEVICE and unmaps it in batches on tx completion (the clean-irq). Many small maps at a high rate on
/// several CPUs: the case the IOVA rcaches and the flush queue exist for.
/// </summary>
public static class NicRingsWorkload
{
    public const string Name = "nic-rings";
    public const string Summary = "NIC rx/tx rings: 2 KiB rx buffers refilled in batches, small tx maps, batched tx completion";
    const int RingSize = 256;
    const int RxRefillBatch = 32;
    const int TxCleanBatch = 64;
    const uint RxBufBytes = 2048;

    /// <summary>Runs on a booted machine (its options name the policy variant).</summary>
    public static WorkloadResult Run(Machine m, ulong seed) => Run(WorkloadContext.From(m), seed);

    public static WorkloadResult Run(WorkloadContext ctx, ulong seed, int packets = 3072)
    {
        var r = new WorkloadResult { Name = Name, Variant = ctx.Policy, Description = Summary };
        var dev = ctx.FindDevice("nic") ?? ctx.Devices.FirstOrDefault(d => d.IsPci) ?? ctx.Devices.FirstOrDefault(d => d.Spec.Iommu is not null);
        if (dev is null) { r.Notes.Add("not run: no NIC, PCI or IOMMU-backed device"); return r; }
        if (dev.Spec.Kind != "nic") r.Notes.Add($"no NIC: {dev.Name} ({dev.Spec.Kind}) plays it");
        var api = ctx.Api;
        var pa = ctx.Memory.PageAllocator;
        var rng = Rng.For(seed, Name);
        int cpus = Math.Clamp(ctx.Platform.Cpus, 1, 4);
        var engine = ctx.EngineFor(dev);
        var exposure = new ExposureTracker(ctx.Memory.Memory.TotalBytes);
        var before = WorkloadCounters.Take(ctx, [dev]);
        ulong granule = ctx.GranuleOf(dev);

        var rxRing = api.AllocCoherent(0, dev, RingSize * 16, out var rxRingDma, Gfp.Kernel);
        var txRing = api.AllocCoherent(0, dev, RingSize * 16, out var txRingDma, Gfp.Kernel);
        if (rxRing.IsNull || txRing.IsNull) { r.Notes.Add("descriptor ring allocation failed"); return Finish(r, ctx, dev, before, 0, exposure); }

        // page pool for rx: pages split in halves, recycled when both halves are back
        var pages = new List<PhysAddr>();
        var rxFree = new Queue<PhysAddr>();
        var rx = new Queue<(PhysAddr Buf, DmaAddr Dma)>();
        var txPending = new List<(PhysAddr Buf, uint Len, DmaAddr Dma, int Cpu)>();
        var txPages = new List<PhysAddr>();
        for (int i = 0; i < RingSize / 2 + RxRefillBatch; i++)
        {
            if (!pa.TryAllocPages(0, Gfp.Kernel | Gfp.NoWarn, out var p)) break;
            pages.Add(p); rxFree.Enqueue(p); rxFree.Enqueue(p + RxBufBytes);
        }
        for (int i = 0; i < 64 && pa.TryAllocPages(0, Gfp.Kernel | Gfp.NoWarn, out var tp); i++) txPages.Add(tp);
        if (txPages.Count == 0 || pages.Count == 0) { r.Notes.Add("out of memory for packet buffers"); return Finish(r, ctx, dev, before, 0, exposure); }

        ulong bytes = 0;
        long rxPackets = 0, txPackets = 0, maps = 0, mapFailures = 0, transferErrors = 0, refills = 0, txCleans = 0;
        var frame = new byte[1514];
        var desc = new byte[16];

        void Refill(int cpu)
        {
            refills++;
            while (rx.Count < RingSize && rxFree.Count > 0)
            {
                var b = rxFree.Dequeue();
                var d = api.MapPage(cpu, dev, b, RxBufBytes, DmaDirection.FromDevice);
                maps++;
                if (api.MappingError(dev, d)) { mapFailures++; rxFree.Enqueue(b); break; }
                exposure.OnMap(b.Value, RxBufBytes, granule);
                rx.Enqueue((b, d));
            }
        }

        void CleanTx()
        {
            txCleans++;
            foreach (var t in txPending)
            {
                api.UnmapPage(t.Cpu, dev, t.Dma, t.Len, DmaDirection.ToDevice);
                exposure.OnUnmap(t.Buf.Value, t.Len, granule);
            }
            txPending.Clear();
        }

        Refill(0);
        for (int n = 0; n < packets; n++)
        {
            int cpu = (int)rng.Next((ulong)cpus);
            int len = rng.Next(64, frame.Length + 1);
            if (rng.Chance(0.5) && rx.Count > 0)
            {
                // receive: the NIC DMA-writes the frame and its descriptor, NAPI on this CPU unmaps and passes it up
                var (buf, d) = rx.Dequeue();
                frame.AsSpan(0, len).Fill((byte)n);
                var w = engine.Write(d, frame.AsSpan(0, len));
                bytes += w.Bytes; if (!w.Ok) transferErrors++;
                if (!engine.Write(rxRingDma + (ulong)(rxPackets % RingSize) * 16, desc).Ok) transferErrors++;
                api.UnmapPage(cpu, dev, d, RxBufBytes, DmaDirection.FromDevice);
                exposure.OnUnmap(buf.Value, RxBufBytes, granule);
                rxFree.Enqueue(buf); // the stack consumed the frame; the half page goes back to the pool
                rxPackets++;
                if (RingSize - rx.Count >= RxRefillBatch) Refill(cpu);
            }
            else
            {
                // transmit: map the packet's linear data wherever kmalloc put it, the NIC reads it
                var page = txPages[rng.Next(0, txPages.Count)];
                uint off = (uint)rng.Next(0, (int)(PhysAddr.PageSize - (ulong)len) / 64 + 1) * 64;
                if (txPending.Exists(t => t.Buf.PageAligned == page)) { page = txPages[(txPages.IndexOf(page) + 1) % txPages.Count]; }
                if (txPending.Exists(t => t.Buf.PageAligned == page)) CleanTx();
                var buf = page + off;
                var d = api.MapPage(cpu, dev, buf, (ulong)len, DmaDirection.ToDevice);
                maps++;
                if (api.MappingError(dev, d)) { mapFailures++; continue; }
                exposure.OnMap(buf.Value, (ulong)len, granule);
                if (!engine.Read(txRingDma + (ulong)(txPackets % RingSize) * 16, desc).Ok) transferErrors++;
                var rd = engine.Read(d, frame.AsSpan(0, len));
                bytes += rd.Bytes; if (!rd.Ok) transferErrors++;
                txPending.Add((buf, (uint)len, d, cpu));
                txPackets++;
                if (txPending.Count >= TxCleanBatch) CleanTx();
            }
        }
        CleanTx();
        while (rx.Count > 0)
        {
            var (b, d) = rx.Dequeue();
            api.UnmapPage(0, dev, d, RxBufBytes, DmaDirection.FromDevice);
            exposure.OnUnmap(b.Value, RxBufBytes, granule);
        }
        foreach (var p in pages) pa.FreePages(p, 0);
        foreach (var p in txPages) pa.FreePages(p, 0);
        api.FreeCoherent(0, dev, RingSize * 16, rxRing, rxRingDma);
        api.FreeCoherent(0, dev, RingSize * 16, txRing, txRingDma);
        r.Add("rx-packets", rxPackets, "count").Add("tx-packets", txPackets, "count").Add("maps", maps, "count")
         .Add("map-failures", mapFailures, "count").Add("transfer-errors", transferErrors, "count")
         .Add("rx-refills", refills, "count").Add("tx-cleans", txCleans, "count");
        return Finish(r, ctx, dev, before, bytes, exposure);
    }

    static WorkloadResult Finish(WorkloadResult r, WorkloadContext ctx, Device dev, WorkloadCounters before, ulong bytes, ExposureTracker exposure)
    {
        before.Finish(r, ctx, [dev], bytes);
        exposure.Report(r);
        WorkloadFindings.Collect(ctx, r);
        return r;
    }
}
