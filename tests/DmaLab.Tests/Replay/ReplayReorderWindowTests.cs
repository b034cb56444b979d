using DmaLab.Dma;
using DmaLab.Trace;
using static DmaLab.Tests.Trace.TraceTestUtil;
using DmaLab.Replay;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>The lookahead window's reordering of map calls around interrupts, on small synthetic traces.</summary>
public class ReplayReorderWindowTests
{
    /// <summary>Records the order in which calls reach the model.</summary>
    sealed class OrderModel : IReplayModel
    {
        public readonly List<string> Calls = new();
        public string Name => "order";
        public void AddDevice(int deviceId, string name) { }
        public DmaAddr Map(in ReplayCall c) { Calls.Add($"map {c.Line}"); return c.TraceDmaAddr; }
        public void Unmap(in ReplayCall c) => Calls.Add($"unmap {c.Line}");
        public int MapSg(in ReplayCall c, ReadOnlySpan<ulong> p, ReadOnlySpan<ulong> l, Span<ulong> d, Span<ulong> dl) => 0;
        public void UnmapSg(in ReplayCall c, ReadOnlySpan<ulong> phys) { }
        public DmaAddr Alloc(in ReplayCall c, out bool comparable) { comparable = false; return c.TraceDmaAddr; }
        public void Free(in ReplayCall c) { }
        public void Sync(in ReplayCall c) { }
    }

    static string L(string flags, string evt, string fields, int pid = 7) =>
        $"            task-{pid,-7} [000] {flags} 1.000000: {evt}: {fields}\n";

    static List<string> Order(string text)
    {
        var m = new OrderModel();
        ReplayText(text, m);
        return m.Calls;
    }

    const string Dev = "0000:00:04.0";

    [Fact]
    public void A_map_is_replayed_before_an_interrupt_traced_between_its_iommu_map_and_its_event()
    {
        string t =
            L(".....", "dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=ffffe000 size=4096 phys_addr=1000 attrs=") +
            L(".....", "map", "IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 paddr=0x0000000000002000 size=4096") +
            L("d.h..", "unmap", "IOMMU: iova=0x00000000ffffe000 - 0x00000000fffff000 size=4096 unmapped_size=4096") +
            L("d.h..", "dma_unmap_page", $"{Dev} dir=FROM_DEVICE dma_addr=ffffe000 size=4096 attrs=") +
            L(".....", "dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=fffff000 size=4096 phys_addr=2000 attrs=");
        Assert.Equal(["map 1", "map 5", "unmap 4"], Order(t));
    }

    [Fact]
    public void Not_reordered_when_the_interrupt_freed_the_range_the_call_received()
    {
        string t =
            L(".....", "dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=ffffe000 size=4096 phys_addr=1000 attrs=") +
            L("d.h..", "unmap", "IOMMU: iova=0x00000000ffffe000 - 0x00000000fffff000 size=4096 unmapped_size=4096") +
            L("d.h..", "dma_unmap_page", $"{Dev} dir=FROM_DEVICE dma_addr=ffffe000 size=4096 attrs=") +
            L(".....", "map", "IOMMU: iova=0x00000000ffffe000 - 0x00000000fffff000 paddr=0x0000000000002000 size=4096") +
            L(".....", "dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=ffffe000 size=4096 phys_addr=2000 attrs=");
        Assert.Equal(["map 1", "unmap 3", "map 5"], Order(t));
    }

    [Fact]
    public void Not_reordered_across_another_task_or_when_the_interrupt_maps_itself()
    {
        string other =
            L(".....", "dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=ffffe000 size=4096 phys_addr=1000 attrs=", pid: 8) +
            L("d.h..", "dma_unmap_page", $"{Dev} dir=FROM_DEVICE dma_addr=ffffe000 size=4096 attrs=", pid: 8) +
            L(".....", "dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=fffff000 size=4096 phys_addr=2000 attrs=");
        Assert.Equal(["map 1", "unmap 2", "map 3"], Order(other));
        string napi =
            L("..s..", "dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=ffffd000 size=4096 phys_addr=3000 attrs=") +
            L(".....", "dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=fffff000 size=4096 phys_addr=2000 attrs=");
        Assert.Equal(["map 1", "map 2"], Order(napi));
    }

    [Fact]
    public void Bounced_calls_stay_anchored_at_their_swiotlb_bounced_line()
    {
        string t =
            L(".....", "dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=79a00000 size=4096 phys_addr=1000 attrs=") +
            L(".....", "swiotlb_bounced", $"dev_name: {Dev} dma_mask=ffffffffffffffff dev_addr=2000 size=4096 FORCE") +
            L("d.h..", "dma_unmap_page", $"{Dev} dir=FROM_DEVICE dma_addr=79a00000 size=4096 attrs=") +
            L(".....", "dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=79a01000 size=4096 phys_addr=2000 attrs=");
        Assert.Equal(["map 1", "unmap 3", "map 4"], Order(t));
    }

    [Fact]
    public void A_small_window_still_replays_every_record_once_in_bounded_memory()
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < 300; i++)
        {
            sb.Append(L(".....", "dma_map_page", $"{Dev} dir=TO_DEVICE dma_addr={0x1000 * (i + 1):x} size=64 phys_addr={0x1000 * (i + 1):x} attrs="));
            sb.Append(L("d.h..", "dma_unmap_page", $"{Dev} dir=TO_DEVICE dma_addr={0x1000 * (i + 1):x} size=64 attrs="));
        }
        var m = new OrderModel();
        using var reader = ReaderOf(sb.ToString());
        var rep = TraceReplayer.Replay(reader, new ReplayOptions { Model = m, ReorderWindow = 16 });
        Assert.Equal(600, m.Calls.Count);
        Assert.Equal(0, rep.UnmatchedUnmaps);
        Assert.Equal(rep.Fidelity.Compared, rep.Fidelity.Matched);
    }
}
