using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>
/// The one check every trace record passes before it enters the replay (<see cref="TraceReplayer.Consume"/>): a
/// record the kernel could not have produced is refused with a reason, counted and listed as a malformed event, and
/// reaches neither the bookkeeping nor a model (so a what-if never sees what the as-traced replay refused). The rules
/// follow what the tracepoints record (Linux: include/trace/events/dma.h, iommu.h, swiotlb.h) and what the mapping
/// code lets succeed (kernel/dma/mapping.c, direct.h dma_capable(), drivers/iommu/dma-iommu.c):
/// <list type="bullet">
/// <item>a device name is present, and one that starts like a PCI address (<c>dddd:bb:</c>) is a whole one
/// (pci_name() always prints <c>dddd:bb:dd.f</c>);</item>
/// <item>a direction is one of the four <c>enum dma_data_direction</c> values;</item>
/// <item>no buffer wraps the 64-bit address space (phys + size, dma_addr + size), and none is larger than the
/// physical address space the model holds (<see cref="PhysicalMemory.MaxPhysBits"/> bits);</item>
/// <item>a successful streaming mapping ends at or below the device's DMA mask when the platform states it
/// (dma_capable() refuses it otherwise, an IOVA is allocated below the mask);</item>
/// <item>a successful coherent allocation is not of 0 bytes (dma-direct's page allocation of get_order(0) pages
/// fails, iommu-dma allocates no IOVA for it);</item>
/// <item>dma_map_sg: at most <see cref="TraceRecord.TraceMaxEntries"/> entries listed per array
/// (DMA_TRACE_MAX_ENTRIES; the other sg events list every entry), no more listed than nents/ents say, neither
/// negative, ents &lt;= nents (iommu-dma merges, never splits), a dma_addrs entry per sizes entry unless the line
/// was [TRUNCATED]; in it and in dma_sync_sg_* each DMA segment length fits 32 bits (the events store
/// sg_dma_len(), an unsigned int) and no segment wraps;</item>
/// <item>an IOMMU group id is not negative (iommu_group_alloc() takes ids from an ida).</item>
/// </list>
/// Records of a failed call (dma_addr = DMA_MAPPING_ERROR, an alloc's dma_addr 0) pass: the kernel does trace them.
/// </summary>
public sealed class TraceRecordValidator
{
    /// <summary>Largest buffer the model can hold: its whole physical address space.</summary>
    public const ulong MaxBufferBytes = 1UL << PhysicalMemory.MaxPhysBits;

    readonly Func<string, ulong>? _dmaMaskOf;

    /// <param name="dmaMaskOf">The streaming DMA mask of a device by its trace name (ulong.MaxValue when unknown),
    /// from a platform that lists it; null: every mask is 64 bits.</param>
    public TraceRecordValidator(Func<string, ulong>? dmaMaskOf = null) => _dmaMaskOf = dmaMaskOf;

    /// <summary>Null when the kernel could have produced <paramref name="r"/>, else why not (one line).</summary>
    public string? Check(TraceRecord r)
    {
        switch (r.Kind)
        {
            case TraceEventKind.Unknown:
            case TraceEventKind.TracingMarkWrite:
            case TraceEventKind.TimerStart:
            case TraceEventKind.TimerExpireEntry:
                return null; // no device: the flush-queue timer's events name a timer and a jiffies expiry

            case TraceEventKind.IommuMap:
                return Range("iova", r.Iova, r.Size) ?? Range("paddr", r.PhysAddr, r.Size);
            case TraceEventKind.IommuUnmap:
                return Range("iova", r.Iova, r.Size) ?? Range("iova", r.Iova, r.UnmappedSize);
        }
        if (DeviceName(r.Device) is { } bad) return bad;
        if ((uint)r.Dir > (uint)DmaDirection.None) return $"dir={(int)r.Dir} is not a DMA direction";
        switch (r.Kind)
        {
            case TraceEventKind.DmaMapPhys:
            case TraceEventKind.DmaMapResource:
                if (Range("phys_addr", r.PhysAddr, r.Size) is { } p) return p;
                return r.DmaAddr == DmaAddr.MappingError.Value ? null : Range("dma_addr", r.DmaAddr, r.Size) ?? Mask(r, r.DmaAddr, r.Size);
            case TraceEventKind.DmaUnmapPhys:
            case TraceEventKind.DmaUnmapResource:
            case TraceEventKind.DmaSyncSingleForCpu:
            case TraceEventKind.DmaSyncSingleForDevice:
                return Range("dma_addr", r.DmaAddr, r.Size);
            case TraceEventKind.DmaAlloc:
            case TraceEventKind.DmaAllocPages:
            case TraceEventKind.DmaAllocSgt:
                if (r.Size == 0 && (r.DmaAddr != 0 || r.Kind == TraceEventKind.DmaAllocSgt))
                    return $"{r.EventName} of 0 bytes cannot succeed";
                return Range("dma_addr", r.DmaAddr, r.Size);
            case TraceEventKind.DmaFree:
            case TraceEventKind.DmaFreePages:
            case TraceEventKind.DmaFreeSgt:
            case TraceEventKind.DmaAllocSgtErr:
                return Range("dma_addr", r.DmaAddr, r.Size);
            case TraceEventKind.DmaMapSg:
                return MapSg(r);
            case TraceEventKind.DmaSyncSgForCpu:
            case TraceEventKind.DmaSyncSgForDevice:
                return Segments(r);
            case TraceEventKind.SwiotlbBounced:
                return Range("dev_addr", r.PhysAddr, r.Size);
            case TraceEventKind.IommuAddDeviceToGroup:
            case TraceEventKind.IommuRemoveDeviceFromGroup:
                return r.GroupId < 0 ? $"groupID={r.GroupId} is negative" : null;
            default:
                return null;
        }
    }

    string? MapSg(TraceRecord r)
    {
        if ((Count("nents", r.FullNents) ?? Count("ents", r.FullEnts)) is { } c) return c;
        if (r.FullEnts > r.FullNents && r.FullNents > 0) return $"ents={r.FullEnts} is more than nents={r.FullNents} (entries merge, never split)";
        if ((List("phys_addrs", r.PhysAddrs.Length, r.FullNents) ?? List("dma_addrs", r.DmaAddrs.Length, r.FullEnts)
            ?? List("sizes", r.Lengths.Length, r.FullEnts)) is { } l) return l;
        if (!r.Truncated && r.DmaAddrs.Length != r.Lengths.Length)
            return $"{r.DmaAddrs.Length} dma_addrs but {r.Lengths.Length} sizes";
        if (Segments(r) is { } s) return s;
        var dma = r.DmaAddrs;
        var len = r.Lengths;
        for (int i = 0; i < dma.Length && i < len.Length; i++)
            if (Mask(r, dma[i], len[i]) is { } m) return $"entry {i}: {m}";
        return null;
    }

    /// <summary>Every DMA segment fits sg_dma_len() (unsigned int) and does not wrap.</summary>
    static string? Segments(TraceRecord r)
    {
        var dma = r.DmaAddrs;
        var len = r.Lengths;
        for (int i = 0; i < len.Length; i++)
        {
            if (len[i] > uint.MaxValue) return $"sizes[{i}]=0x{len[i]:x} does not fit sg_dma_len() (32 bits)";
            if (i < dma.Length && len[i] != 0 && dma[i] + (len[i] - 1) < dma[i])
                return $"dma_addrs[{i}]=0x{dma[i]:x} + size {len[i]} wraps the 64-bit address space";
        }
        return null;
    }

    static string? Count(string field, int n) => n < 0 ? $"{field}={n} is negative" : null;

    static string? List(string field, int listed, int full)
    {
        if (listed > TraceRecord.TraceMaxEntries)
            return $"{field} lists {listed} entries; the event records at most {TraceRecord.TraceMaxEntries}";
        if (full > 0 && listed > full) return $"{field} lists {listed} entries of {full}";
        return null;
    }

    static string? Range(string field, ulong addr, ulong size)
    {
        if (size > MaxBufferBytes)
            return $"size {size} is larger than the {MaxBufferBytes >> 40} TiB physical address space the model holds";
        if (size != 0 && addr + (size - 1) < addr) return $"{field}=0x{addr:x} + size {size} wraps the 64-bit address space";
        return null;
    }

    string? Mask(TraceRecord r, ulong dma, ulong size)
    {
        if (_dmaMaskOf is null || size == 0) return null;
        ulong mask = _dmaMaskOf(r.Device);
        ulong end = dma + (size - 1);
        return end > mask ? $"dma_addr 0x{dma:x} + size {size} ends above the device's DMA mask 0x{mask:x}" : null;
    }

    /// <summary>Null for a name dev_name() can give: present, and a whole PCI address when it starts like one.</summary>
    static string? DeviceName(string name)
    {
        if (name.Length == 0) return "no device name";
        if (LooksPci(name) && !IsPciName(name))
            return $"device '{name}' starts like a PCI address but is not one (pci_name() prints dddd:bb:dd.f)";
        return null;
    }

    static bool LooksPci(string n) =>
        n.Length >= 8 && n[4] == ':' && n[7] == ':' && IsHex(n, 0, 4) && IsHex(n, 5, 2);

    // pci_name(): "%04x:%02x:%02x.%d", slot below 32, function below 8 (checked without allocating: every record).
    static bool IsPciName(string n) =>
        n.Length == 12 && n[10] == '.' && n[8] is '0' or '1' && IsHex(n, 9, 1) && n[11] is >= '0' and <= '7';

    static bool IsHex(string s, int start, int count)
    {
        for (int i = start; i < start + count; i++) if (!char.IsAsciiHexDigit(s[i])) return false;
        return true;
    }
}
