namespace DmaLab.Trace;

/// <summary>
/// Event names as tracefs prints them, with their trace system. Both generations of names are recognised:
/// Linux 6.18 renamed dma_map_page/dma_unmap_page to dma_map_phys/dma_unmap_phys (kernel/dma/mapping.c moved to
/// physical-address based mapping) and folded dma_map_resource into dma_map_phys with DMA_ATTR_MMIO.
/// </summary>
public static class TraceEventNames
{
    static readonly Dictionary<string, TraceEventKind> ByName = new(StringComparer.Ordinal)
    {
        ["dma_map_phys"] = TraceEventKind.DmaMapPhys,
        ["dma_map_page"] = TraceEventKind.DmaMapPhys,
        ["dma_unmap_phys"] = TraceEventKind.DmaUnmapPhys,
        ["dma_unmap_page"] = TraceEventKind.DmaUnmapPhys,
        ["dma_map_resource"] = TraceEventKind.DmaMapResource,
        ["dma_unmap_resource"] = TraceEventKind.DmaUnmapResource,
        ["dma_map_sg"] = TraceEventKind.DmaMapSg,
        ["dma_unmap_sg"] = TraceEventKind.DmaUnmapSg,
        ["dma_map_sg_err"] = TraceEventKind.DmaMapSgErr,
        ["dma_alloc"] = TraceEventKind.DmaAlloc,
        ["dma_free"] = TraceEventKind.DmaFree,
        ["dma_alloc_pages"] = TraceEventKind.DmaAllocPages,
        ["dma_free_pages"] = TraceEventKind.DmaFreePages,
        ["dma_alloc_sgt"] = TraceEventKind.DmaAllocSgt,
        ["dma_alloc_sgt_err"] = TraceEventKind.DmaAllocSgtErr,
        ["dma_free_sgt"] = TraceEventKind.DmaFreeSgt,
        ["dma_sync_single_for_cpu"] = TraceEventKind.DmaSyncSingleForCpu,
        ["dma_sync_single_for_device"] = TraceEventKind.DmaSyncSingleForDevice,
        ["dma_sync_sg_for_cpu"] = TraceEventKind.DmaSyncSgForCpu,
        ["dma_sync_sg_for_device"] = TraceEventKind.DmaSyncSgForDevice,
        ["swiotlb_bounced"] = TraceEventKind.SwiotlbBounced,
        ["map"] = TraceEventKind.IommuMap,
        ["unmap"] = TraceEventKind.IommuUnmap,
        ["io_page_fault"] = TraceEventKind.IommuIoPageFault,
        ["attach_device_to_domain"] = TraceEventKind.IommuAttachDeviceToDomain,
        ["detach_device_from_domain"] = TraceEventKind.IommuDetachDeviceFromDomain,
        ["add_device_to_group"] = TraceEventKind.IommuAddDeviceToGroup,
        ["remove_device_from_group"] = TraceEventKind.IommuRemoveDeviceFromGroup,
        ["tracing_mark_write"] = TraceEventKind.TracingMarkWrite,
        ["timer_start"] = TraceEventKind.TimerStart,
        ["timer_expire_entry"] = TraceEventKind.TimerExpireEntry,
    };

    /// <summary>timer:* events the replay understands but keeps no record of (they never concern the flush queue
    /// by themselves): counted by name, not as unknown events.</summary>
    public static bool IsOtherTimerEvent(ReadOnlySpan<char> name) =>
        name is "timer_expire_exit" or "timer_cancel" or "timer_init" or "timer_base_idle";

    /// <summary>The flush queue's timer callback (Linux: drivers/iommu/dma-iommu.c, fq_flush_timeout()).</summary>
    public const string FqFlushTimeout = "fq_flush_timeout";

    static readonly Dictionary<string, TraceEventKind>.AlternateLookup<ReadOnlySpan<char>> Lookup =
        ByName.GetAlternateLookup<ReadOnlySpan<char>>();

    public static TraceEventKind KindOf(string name) => ByName.GetValueOrDefault(name);
    public static TraceEventKind KindOf(ReadOnlySpan<char> name) => Lookup.TryGetValue(name, out var k) ? k : TraceEventKind.Unknown;

    /// <summary>The trace system ("dma", "iommu", "swiotlb", "ftrace") an event kind belongs to.</summary>
    public static string SystemOf(TraceEventKind kind) => kind switch
    {
        TraceEventKind.SwiotlbBounced => "swiotlb",
        >= TraceEventKind.IommuMap and <= TraceEventKind.IommuRemoveDeviceFromGroup => "iommu",
        TraceEventKind.TracingMarkWrite => "ftrace",
        TraceEventKind.TimerStart or TraceEventKind.TimerExpireEntry => "timer",
        TraceEventKind.Unknown => "",
        _ => "dma",
    };

    /// <summary>The name current kernels (6.18+) print for a kind.</summary>
    public static string DefaultName(TraceEventKind kind) => kind switch
    {
        TraceEventKind.DmaMapPhys => "dma_map_phys",
        TraceEventKind.DmaUnmapPhys => "dma_unmap_phys",
        TraceEventKind.DmaMapResource => "dma_map_resource",
        TraceEventKind.DmaUnmapResource => "dma_unmap_resource",
        TraceEventKind.DmaMapSg => "dma_map_sg",
        TraceEventKind.DmaUnmapSg => "dma_unmap_sg",
        TraceEventKind.DmaMapSgErr => "dma_map_sg_err",
        TraceEventKind.DmaAlloc => "dma_alloc",
        TraceEventKind.DmaFree => "dma_free",
        TraceEventKind.DmaAllocPages => "dma_alloc_pages",
        TraceEventKind.DmaFreePages => "dma_free_pages",
        TraceEventKind.DmaAllocSgt => "dma_alloc_sgt",
        TraceEventKind.DmaAllocSgtErr => "dma_alloc_sgt_err",
        TraceEventKind.DmaFreeSgt => "dma_free_sgt",
        TraceEventKind.DmaSyncSingleForCpu => "dma_sync_single_for_cpu",
        TraceEventKind.DmaSyncSingleForDevice => "dma_sync_single_for_device",
        TraceEventKind.DmaSyncSgForCpu => "dma_sync_sg_for_cpu",
        TraceEventKind.DmaSyncSgForDevice => "dma_sync_sg_for_device",
        TraceEventKind.SwiotlbBounced => "swiotlb_bounced",
        TraceEventKind.IommuMap => "map",
        TraceEventKind.IommuUnmap => "unmap",
        TraceEventKind.IommuIoPageFault => "io_page_fault",
        TraceEventKind.IommuAttachDeviceToDomain => "attach_device_to_domain",
        TraceEventKind.IommuDetachDeviceFromDomain => "detach_device_from_domain",
        TraceEventKind.IommuAddDeviceToGroup => "add_device_to_group",
        TraceEventKind.IommuRemoveDeviceFromGroup => "remove_device_from_group",
        TraceEventKind.TracingMarkWrite => "tracing_mark_write",
        TraceEventKind.TimerStart => "timer_start",
        TraceEventKind.TimerExpireEntry => "timer_expire_entry",
        _ => "unknown",
    };

    /// <summary>The pre-6.18 name (dma_map_page/dma_unmap_page), otherwise the same as <see cref="DefaultName"/>.</summary>
    public static string LegacyName(TraceEventKind kind) => kind switch
    {
        TraceEventKind.DmaMapPhys => "dma_map_page",
        TraceEventKind.DmaUnmapPhys => "dma_unmap_page",
        _ => DefaultName(kind),
    };
}
