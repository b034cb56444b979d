using DmaLab.Dma;

namespace DmaLab.Replay;

/// <summary>
/// The fidelity seam of trace replay: the replayer rebuilds each DMA-API call from the trace and asks the model to
/// perform it; the model answers with the dma_addr(s) Linux would have returned on the modelled machine, which the
/// replayer compares with the kernel's. Implementations: <see cref="IdentityReplayModel"/> (dma-direct 1:1) here; the
/// full DMA/IOMMU machine model plugs in the same way. Calls arrive in trace order, on the trace's CPUs.
/// Linux counterparts: include/linux/dma-map-ops.h (map_phys/map_page, unmap, map_sg, alloc, free, sync_*).
/// </summary>
public interface IReplayModel
{
    /// <summary>Short name for reports ("identity", "iommu-dma strict", ...).</summary>
    string Name { get; }

    /// <summary>Whether the model's answers depend on the order allocations really happened in, so the replayer must
    /// run its lookahead window (interrupt reordering, IOMMU-layer maps). A stateless model (identity) says no and
    /// keeps the bookkeeping pass at full speed.</summary>
    bool WantsLookahead => true;

    /// <summary>Whether the device's unmapped addresses wait before they can be handed out again (a lazy IOMMU domain's
    /// flush queue) rather than being reusable at once: the replayer orders allocations around interrupts by it.</summary>
    bool DefersFrees(string device) => false;

    /// <summary>
    /// The dma address a map or alloc call (for dma_map_sg: its first segment) would get if the model performed it now,
    /// changing nothing; ulong.MaxValue when the model cannot tell (no allocator yet, or nothing to allocate). The
    /// replayer uses it to choose among the orders the trace allows, never as the call's answer.
    /// </summary>
    ulong Preview(in ReplayCall call, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> traceLengths) => ulong.MaxValue;

    /// <summary>Whether the addresses the model gives this device now rest on something it inferred rather than read
    /// from the trace (a lazy domain's flush instants when the trace has no timer events).</summary>
    bool Infers(int deviceId) => false;

    /// <summary>The range a lazy domain's pending flush-queue timer would leave on top of the device's range cache for
    /// allocations of <paramref name="pages"/> pages (the last one it releases of that size class); ulong.MaxValue when
    /// it releases none (or the device has no flush queue).</summary>
    ulong AfterFlush(int deviceId, ulong pages) => ulong.MaxValue;

    /// <summary>
    /// After a map, map_sg or alloc: how far the model's own answer lies from the address it mapped (0 when they are
    /// the same). A model may follow the trace where its own answer was wrong (take the kernel's range, so that one
    /// wrong guess does not spoil every later one); the replayer compares the model's own answer, never the one it
    /// took from the trace.
    /// </summary>
    long LastCorrection => 0;

    /// <summary>A device appears in the trace for the first time (before its first call).</summary>
    void AddDevice(int deviceId, string name);

    /// <summary>dma_map_phys / dma_map_page / dma_map_resource. Return the mapping's dma_addr, or
    /// <see cref="DmaAddr.MappingError"/> when the model refuses it.</summary>
    DmaAddr Map(in ReplayCall call);

    /// <summary>dma_unmap_phys / page / resource of a mapping the replayer matched (ModelDmaAddr set).</summary>
    void Unmap(in ReplayCall call);

    /// <summary>
    /// dma_map_sg. <paramref name="phys"/> lists the segments' physical addresses as traced (at most 128 of
    /// <see cref="ReplayCall.FullNents"/>); <paramref name="traceLengths"/> are the DMA lengths the kernel reported for
    /// the mapped entries (segment lengths are not traced; for dma-direct they are equal). Write the model's dma
    /// addresses and lengths of the mapped entries into <paramref name="dmaAddrs"/>/<paramref name="dmaLengths"/> (as
    /// many as fit) and return the number of mapped entries (ents), or 0 on failure.
    /// </summary>
    int MapSg(in ReplayCall call, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> traceLengths, Span<ulong> dmaAddrs, Span<ulong> dmaLengths);

    /// <summary>dma_unmap_sg of a matched list; ModelDmaAddr is the model's first dma address of that mapping.</summary>
    void UnmapSg(in ReplayCall call, ReadOnlySpan<ulong> phys);

    /// <summary>dma_alloc / dma_alloc_pages / dma_alloc_sgt. Set <paramref name="comparable"/> false when the
    /// address is not the model's to choose (dma-direct returns the page's physical address, which the event does not
    /// show), so the replayer counts it as not comparable rather than as a mismatch.</summary>
    DmaAddr Alloc(in ReplayCall call, out bool comparable);

    /// <summary>dma_free / dma_free_pages / dma_free_sgt of a matched allocation.</summary>
    void Free(in ReplayCall call);

    /// <summary>dma_sync_single_for_cpu/device (ModelDmaAddr of the mapping containing the address when matched);
    /// for sync_sg the first entry.</summary>
    void Sync(in ReplayCall call);

    /// <summary>
    /// An iommu:map made by the IOMMU layer itself for <paramref name="device"/> with no DMA-API call of its own (an MSI
    /// doorbell page: Linux drivers/iommu/dma-iommu.c, iommu_dma_get_msi_page()): the model allocates it in the
    /// device's domain so later IOVAs come out as the kernel's. <paramref name="paddr"/> is the mapped physical page;
    /// the return is the model's IOVA for it (0 when the model has no such mapping), compared with
    /// <paramref name="traceIova"/> by the replayer.
    /// </summary>
    ulong LayerMap(string device, ulong paddr, ulong size, int cpu, ulong traceIova) => 0;

    /// <summary>
    /// swiotlb:swiotlb_bounced: the kernel is about to bounce <see cref="ReplayCall.Phys"/>/<see cref="ReplayCall.Size"/>
    /// for the device (Linux: kernel/dma/swiotlb.c, swiotlb_map() traces, then searches the pool). A model that
    /// bounces allocates its slot here, at the same point of the event order, and reports it with the dma_map_* that
    /// follows (an interrupt traced between the two lines came after the slot search).
    /// </summary>
    void Bounced(in ReplayCall call) { }
}
