namespace DmaLab.Tests.DmaIommu;

/// <summary>
/// The order in which the traced DMA-API calls really allocated their IOVAs, and the owner of each MSI doorbell
/// iommu:map. A map allocates its IOVA (irqs off) before its iommu:map lines and its dma:* event, and an interrupt of
/// a higher level (softirq over task, hardirq over either) that hit the same task may be traced in between: the
/// allocation goes before such interrupt events unless one of them unmapped the very IOVA range the call received (a
/// live IOVA cannot be handed out) or the window maps memory itself (a NAPI refill batch that ran before the call).
/// The doorbell map has no dma:* event: it belongs to the device of the same task's next DMA-API call, else to the
/// device attached last (the caller's fallback).
/// </summary>
internal static class TraceSchedule
{
    public static List<(TraceEvent Event, string? MsiOwner)> Order(List<TraceEvent> events, ulong msiDoorbell) => Order(events, msiDoorbell, out _);

    public static List<(TraceEvent Event, string? MsiOwner)> Order(List<TraceEvent> events, ulong msiDoorbell, out int reordered)
    {
        reordered = 0;
        var allocHere = new List<int>[events.Count];
        var moved = new bool[events.Count];
        for (int i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (e.Name is not ("dma_map_page" or "dma_map_sg" or "dma_alloc")) continue;
            int k = i - 1;
            while (k >= 0 && events[k].Pid == e.Pid
                && (events[k].Level > e.Level || (events[k].Level == e.Level && events[k].Name == "map"))) k--;
            (ulong lo, ulong hi) = e.Name == "dma_map_sg"
                ? (e.DmaAddrs[0] & ~0xfffUL, e.DmaAddrs[^1] + e.Sizes[^1])
                : (e.DmaAddr & ~0xfffUL, e.DmaAddr + Math.Max(e.Size, 1));
            bool interrupted = false, blocked = false;
            for (int j = k + 1; j < i; j++)
            {
                if (events[j].Level <= e.Level) continue;
                interrupted = true;
                if (events[j].Name is "map" or "dma_map_page" or "dma_map_sg" or "dma_alloc") blocked = true;
                if (events[j].Name == "unmap" && events[j].Iova < hi && events[j].Iova + events[j].Size > lo) blocked = true;
            }
            if (!interrupted || blocked) continue;
            (allocHere[k + 1] ??= new()).Add(i);
            moved[i] = true;
            reordered++;
        }
        var msiOwner = new string?[events.Count];
        for (int i = 0; i < events.Count; i++)
        {
            if (msiDoorbell == 0 || events[i].Name != "map" || events[i].Phys != (msiDoorbell & ~0xfffUL)) continue;
            for (int j = i + 1; j < events.Count && msiOwner[i] == null; j++)
                if (events[j].Pid == events[i].Pid && events[j].Name.StartsWith("dma_", StringComparison.Ordinal)
                    && events[j].Device.StartsWith("0000:", StringComparison.Ordinal))
                    msiOwner[i] = events[j].Device;
                else if (events[j].Pid == events[i].Pid && events[j].Name == "map" && events[j].Phys == events[i].Phys)
                    break;
        }
        var order = new List<(TraceEvent, string?)>(events.Count);
        for (int p = 0; p < events.Count; p++)
        {
            if (allocHere[p] != null) foreach (int i in allocHere[p]) order.Add((events[i], null));
            if (!moved[p]) order.Add((events[p], msiOwner[p]));
        }
        return order;
    }
}
