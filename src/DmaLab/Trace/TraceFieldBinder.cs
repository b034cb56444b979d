using DmaLab.Dma;

namespace DmaLab.Trace;

/// <summary>
/// The record fields behind the raw fields of the kernel's DMA, IOMMU and swiotlb events, by the names their
/// TP_STRUCT__entry gives them (Linux: include/trace/events/dma.h, iommu.h, swiotlb.h; ftrace's print event in
/// kernel/trace/trace_entries.h): what the trace-cmd reader decodes from a record's bytes and what `trace-cmd report`
/// prints as <c>name=value</c> when it cannot format an event (<c>[FAILED TO PARSE]</c>). A record filled this way
/// is the record the text parser makes from the TP_printk line of the same event.
/// </summary>
internal static class TraceFieldBinder
{
    public static TraceFieldTarget TargetOf(TraceEventKind kind, string field) => field switch
    {
        "device" or "dev_name" => TraceFieldTarget.Device,
        "driver" => TraceFieldTarget.Driver,
        "dir" => TraceFieldTarget.Dir,
        // dma_unmap_page/_resource name the dma address "addr"; dma_unmap_sg names its physical list "addrs".
        "dma_addr" or "iova" => TraceFieldTarget.DmaAddr,
        "addr" => TraceFieldTarget.DmaAddr,
        "phys_addr" or "paddr" or "dev_addr" => TraceFieldTarget.PhysAddr,
        "size" => TraceFieldTarget.Size,
        "unmapped_size" => TraceFieldTarget.UnmappedSize,
        "attrs" => TraceFieldTarget.Attrs,
        "full_nents" => TraceFieldTarget.FullNents,
        "full_ents" => TraceFieldTarget.FullEnts,
        "truncated" => TraceFieldTarget.Truncated,
        "phys_addrs" or "addrs" => TraceFieldTarget.PhysAddrs,
        "dma_addrs" => TraceFieldTarget.DmaAddrs,
        "lengths" => TraceFieldTarget.Lengths,
        "err" => TraceFieldTarget.Error,
        "gid" => TraceFieldTarget.GroupId,
        "flags" => kind == TraceEventKind.IommuIoPageFault ? TraceFieldTarget.FaultFlags : TraceFieldTarget.Gfp,
        "dma_mask" => TraceFieldTarget.DmaMask,
        "force" => TraceFieldTarget.Forced,
        "buf" => kind == TraceEventKind.TracingMarkWrite ? TraceFieldTarget.Message : TraceFieldTarget.None,
        _ => TraceFieldTarget.None,
    };

    /// <summary>Sets a scalar field (sign-extended by the caller where the field is signed).</summary>
    public static void SetScalar(TraceRecord r, TraceFieldTarget t, ulong v)
    {
        switch (t)
        {
            case TraceFieldTarget.Dir: r.Dir = v <= 3 ? (DmaDirection)v : DmaDirection.None; break;
            case TraceFieldTarget.DmaAddr: r.DmaAddr = v; break;
            case TraceFieldTarget.PhysAddr: r.PhysAddr = v; break;
            case TraceFieldTarget.Size: r.Size = v; break;
            case TraceFieldTarget.UnmappedSize: r.UnmappedSize = v; break;
            case TraceFieldTarget.Attrs: r.Attrs = (DmaAttrs)v; break;
            case TraceFieldTarget.FullNents: r.FullNents = (int)v; break;
            case TraceFieldTarget.FullEnts: r.FullEnts = (int)v; break;
            case TraceFieldTarget.Truncated: r.Truncated = v != 0; break;
            case TraceFieldTarget.Error: r.Error = (int)v; break;
            case TraceFieldTarget.GroupId: r.GroupId = (int)v; break;
            case TraceFieldTarget.FaultFlags: r.FaultFlags = (int)v; break;
            case TraceFieldTarget.DmaMask: r.DmaMask = v; break;
            case TraceFieldTarget.Forced: r.Forced = v != 0; break;
        }
    }

    /// <summary>The record's list for an array target (null for other targets).</summary>
    public static void SetList(TraceRecord r, TraceFieldTarget t, ReadOnlySpan<ulong> values)
    {
        switch (t)
        {
            case TraceFieldTarget.PhysAddrs: TraceRecord.SetList(ref r.PhysBuf, ref r.PhysCount, values); break;
            case TraceFieldTarget.DmaAddrs: TraceRecord.SetList(ref r.DmaBuf, ref r.DmaCount, values); break;
            case TraceFieldTarget.Lengths: TraceRecord.SetList(ref r.LenBuf, ref r.LenCount, values); break;
        }
    }

    public static bool IsList(TraceFieldTarget t) => t is TraceFieldTarget.PhysAddrs or TraceFieldTarget.DmaAddrs or TraceFieldTarget.Lengths;

    /// <summary>
    /// The fields an event of <paramref name="kind"/> must have to be modelled, as the text parser requires them of
    /// a TP_printk line; null when <paramref name="have"/> (a bit per <see cref="TraceFieldTarget"/>, see
    /// <see cref="Bit"/>) holds them all, else the name of the first one missing.
    /// </summary>
    public static string? Missing(TraceEventKind kind, ulong have)
    {
        TraceFieldTarget[] need = kind switch
        {
            TraceEventKind.DmaMapPhys or TraceEventKind.DmaMapResource => [TraceFieldTarget.Device, TraceFieldTarget.DmaAddr, TraceFieldTarget.Size, TraceFieldTarget.PhysAddr],
            TraceEventKind.DmaUnmapPhys or TraceEventKind.DmaUnmapResource => [TraceFieldTarget.Device, TraceFieldTarget.DmaAddr, TraceFieldTarget.Size],
            TraceEventKind.DmaMapSg or TraceEventKind.DmaUnmapSg or TraceEventKind.DmaMapSgErr => [TraceFieldTarget.Device, TraceFieldTarget.PhysAddrs],
            TraceEventKind.DmaAlloc or TraceEventKind.DmaFree or TraceEventKind.DmaAllocPages or TraceEventKind.DmaFreePages
                or TraceEventKind.DmaAllocSgt or TraceEventKind.DmaFreeSgt or TraceEventKind.DmaAllocSgtErr
                or TraceEventKind.DmaSyncSingleForCpu or TraceEventKind.DmaSyncSingleForDevice => [TraceFieldTarget.Device, TraceFieldTarget.DmaAddr, TraceFieldTarget.Size],
            TraceEventKind.DmaSyncSgForCpu or TraceEventKind.DmaSyncSgForDevice => [TraceFieldTarget.Device, TraceFieldTarget.DmaAddrs],
            TraceEventKind.SwiotlbBounced => [TraceFieldTarget.Device, TraceFieldTarget.PhysAddr, TraceFieldTarget.Size],
            TraceEventKind.IommuMap => [TraceFieldTarget.DmaAddr, TraceFieldTarget.PhysAddr, TraceFieldTarget.Size],
            TraceEventKind.IommuUnmap => [TraceFieldTarget.DmaAddr, TraceFieldTarget.Size],
            TraceEventKind.IommuIoPageFault or TraceEventKind.IommuAddDeviceToGroup or TraceEventKind.IommuRemoveDeviceFromGroup
                or TraceEventKind.IommuAttachDeviceToDomain or TraceEventKind.IommuDetachDeviceFromDomain => [TraceFieldTarget.Device],
            TraceEventKind.TracingMarkWrite => [TraceFieldTarget.Message],
            _ => [],
        };
        foreach (var t in need) if ((have & Bit(t)) == 0) return t.ToString();
        return null;
    }

    public static ulong Bit(TraceFieldTarget t) => 1UL << (int)t;
}
