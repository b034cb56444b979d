using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Workloads;

/// <summary>
/// A 32-bit-mask device whose buffers live above 4 GiB: every streaming mapping bounces through swiotlb
/// (dma_direct_map_phys → swiotlb_map), the device reads/writes the slot, and the bytes round-trip exactly.
/// Reports bounced bytes, slot high-water mark and failures ("swiotlb buffer is full").
/// </summary>
public static class DmaBounce32Workload
{
    public const string Name = "dma-bounce-32bit";

    /// <param name="api">the DMA API</param>
    /// <param name="dev">a device with a 32-bit mask, set up with dma-direct and a swiotlb pool (dev.DmaIoTlbMem)</param>
    /// <param name="cache">the CPU's view of memory (devices move bytes through it)</param>
    /// <param name="buffers">where the driver's buffers are (pages above 4 GiB)</param>
    public static WorkloadResult Run(DmaMapping api, Device dev, CpuCache cache, IReadOnlyList<PhysAddr> buffers, ulong seed, int rounds = 64)
    {
        var r = new WorkloadResult { Name = Name, Description = "32-bit DMA mask device with buffers above 4 GiB: swiotlb bounce buffering" };
        var pool = dev.DmaIoTlbMem;
        if (pool is null) { r.Notes.Add($"{dev.Name} has no swiotlb pool: mappings above its mask fail"); }
        var rng = Rng.For(seed, Name);
        var buf = new byte[4096];
        var back = new byte[4096];
        long mismatches = 0, errors = 0, bounced = 0;
        for (int i = 0; i < rounds; i++)
        {
            var phys = buffers[i % buffers.Count];
            int len = 512 * rng.Next(1, 9);
            bool tx = (i & 1) == 0;
            if (tx)
            {
                for (int k = 0; k < len; k++) buf[k] = (byte)rng.NextU64();
                cache.CpuWrite(phys, buf.AsSpan(0, len));
                var dma = api.MapPage(0, dev, phys, (ulong)len, DmaDirection.ToDevice);
                if (api.MappingError(dev, dma)) { errors++; continue; }
                if (dma.Value + (ulong)len - 1 > dev.DmaMask) mismatches++;
                if (DmaDirectOps.DmaToPhys(dev, dma) != phys) bounced++;
                cache.DeviceRead(dev.Name, dev.Coherent, DmaDirectOps.DmaToPhys(dev, dma), back.AsSpan(0, len));
                if (!back.AsSpan(0, len).SequenceEqual(buf.AsSpan(0, len))) mismatches++;
                api.UnmapPage(0, dev, dma, (ulong)len, DmaDirection.ToDevice);
            }
            else
            {
                var dma = api.MapPage(0, dev, phys, (ulong)len, DmaDirection.FromDevice);
                if (api.MappingError(dev, dma)) { errors++; continue; }
                if (DmaDirectOps.DmaToPhys(dev, dma) != phys) bounced++;
                for (int k = 0; k < len; k++) buf[k] = (byte)rng.NextU64();
                cache.DeviceWrite(dev.Name, dev.Coherent, DmaDirectOps.DmaToPhys(dev, dma), buf.AsSpan(0, len));
                api.UnmapPage(0, dev, dma, (ulong)len, DmaDirection.FromDevice);
                cache.CpuRead(phys, back.AsSpan(0, len));
                if (!back.AsSpan(0, len).SequenceEqual(buf.AsSpan(0, len))) mismatches++;
            }
        }
        r.Add("mappings", rounds, "count").Add("bounced-mappings", bounced, "count").Add("mapping-errors", errors, "count")
         .Add("data-mismatches", mismatches, "count");
        if (pool is not null)
        {
            r.Add("swiotlb-bounced-bytes-to-device", pool.Stats.BouncedBytesToDevice, "bytes")
             .Add("swiotlb-bounced-bytes-from-device", pool.Stats.BouncedBytesFromDevice, "bytes")
             .Add("swiotlb-used-hiwater", pool.Stats.UsedHiwater, "slots")
             .Add("swiotlb-total-slots", pool.TotalSlots, "slots")
             .Add("swiotlb-full-failures", pool.Stats.Failures, "count");
        }
        r.Findings.AddRange(api.TakeFindings());
        if (api.Debug is not null) r.Findings.AddRange(api.Debug.TakeFindings());
        r.Findings.AddRange(cache.TakeFindings());
        return r;
    }
}
