namespace DmaLab.Trace;

/// <summary>
/// Every ftrace event the reader understands, by the kernel's tracepoint name
/// (Linux: include/trace/events/dma.h, iommu.h, swiotlb.h, timer.h; ftrace's own print/marker event).
/// <see cref="Unknown"/> events are counted by name and skipped.
/// </summary>
public enum TraceEventKind : byte
{
    Unknown = 0,
    /// <summary>dma:dma_map_phys (Linux 6.18+) and dma:dma_map_page (earlier): one streaming mapping.</summary>
    DmaMapPhys,
    /// <summary>dma:dma_unmap_phys (6.18+) and dma:dma_unmap_page (earlier).</summary>
    DmaUnmapPhys,
    /// <summary>dma:dma_map_resource (an MMIO resource; folded into dma_map_phys with attrs=MMIO from 6.18).</summary>
    DmaMapResource,
    DmaUnmapResource,
    /// <summary>dma:dma_map_sg: phys_addrs (nents), dma_addrs and lengths (ents), each capped at 128 entries.</summary>
    DmaMapSg,
    /// <summary>dma:dma_unmap_sg: only phys_addrs.</summary>
    DmaUnmapSg,
    /// <summary>dma:dma_map_sg_err: phys_addrs (printed as "dma_addrs=") and err.</summary>
    DmaMapSgErr,
    /// <summary>dma:dma_alloc (dma_alloc_attrs / coherent allocation).</summary>
    DmaAlloc,
    DmaFree,
    DmaAllocPages,
    DmaFreePages,
    DmaAllocSgt,
    DmaAllocSgtErr,
    DmaFreeSgt,
    DmaSyncSingleForCpu,
    DmaSyncSingleForDevice,
    DmaSyncSgForCpu,
    DmaSyncSgForDevice,
    /// <summary>swiotlb:swiotlb_bounced: a mapping is about to be bounced (printed before its dma_map_*).</summary>
    SwiotlbBounced,
    /// <summary>iommu:map (iova, paddr, size; no device).</summary>
    IommuMap,
    /// <summary>iommu:unmap (iova, size, unmapped_size; no device).</summary>
    IommuUnmap,
    IommuIoPageFault,
    IommuAttachDeviceToDomain,
    IommuDetachDeviceFromDomain,
    IommuAddDeviceToGroup,
    IommuRemoveDeviceFromGroup,
    /// <summary>ftrace:print from trace_marker: a user marker (phase boundary).</summary>
    TracingMarkWrite,
    /// <summary>timer:timer_start (Linux: include/trace/events/timer.h): a timer armed; only the flush queue's
    /// (function=fq_flush_timeout) are kept as records, the others are counted by name.</summary>
    TimerStart,
    /// <summary>timer:timer_expire_entry: a timer callback about to run (fq_flush_timeout only, as above).</summary>
    TimerExpireEntry,
}
