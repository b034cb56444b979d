namespace DmaLab.Mm;

/// <summary>One memory zone of node 0 (Linux: struct zone in include/linux/mmzone.h) with its buddy allocator.</summary>
public sealed class MemZone
{
    internal MemZone(ZoneType type, Pfn start, Pfn end)
    {
        Type = type;
        Buddy = new BuddyAllocator(start, end.Value - start.Value);
    }

    public ZoneType Type { get; }
    /// <summary>The name the kernel prints ("DMA", "DMA32", "Normal"; zone_names[] in mm/page_alloc.c).</summary>
    public string Name => Type switch { ZoneType.Dma => "DMA", ZoneType.Dma32 => "DMA32", _ => "Normal" };
    public BuddyAllocator Buddy { get; }
    public Pfn StartPfn => Buddy.StartPfn;
    public Pfn EndPfn => Buddy.EndPfn;
    public MemRange Range => new(StartPfn.Address, Buddy.SpanPages << PhysAddr.PageShift);
    /// <summary>populated_zone(): has managed pages.</summary>
    public bool IsPopulated => Buddy.ManagedPages > 0;

    /// <summary>This zone's /proc/buddyinfo line (Linux: mm/vmstat.c, frag_show_print(): "Node %d, zone %8s " then "%6lu " per order).</summary>
    public string BuddyInfoLine()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("Node 0, zone ").Append(Name.PadLeft(8)).Append(' ');
        for (int o = 0; o < BuddyAllocator.NrPageOrders; o++) sb.Append(Buddy.NrFree(o).ToString().PadLeft(6)).Append(' ');
        return sb.ToString();
    }

    /// <summary>Free block counts per order, index = order.</summary>
    public long[] FreeCounts()
    {
        var r = new long[BuddyAllocator.NrPageOrders];
        for (int o = 0; o < r.Length; o++) r[o] = Buddy.NrFree(o);
        return r;
    }

    public override string ToString() => $"{Name} {Range}";
}
