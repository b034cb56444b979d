using System.Text;
using DmaLab.Dma;

namespace DmaLab.Trace;

/// <summary>
/// Formats a record's fields exactly as the kernel's TP_printk does (Linux: include/trace/events/dma.h, iommu.h,
/// swiotlb.h; __print_array prints "{0x..,0x..}", __print_flags joins names with "|" and prints leftover bits in
/// hex, dma_map_sg caps each list at 128 entries and says " [TRUNCATED]"), and whole lines as tracefs prints them
/// (Linux: kernel/trace/trace_output.c: "%16s-%-7d [%03d] FLAGS %5llu.%06lu: EVENT: FIELDS").
/// </summary>
public static partial class TraceEventFormatter
{
    static readonly (DmaAttrs Bit, string Name)[] AttrNames =
    [
        (DmaAttrs.WeakOrdering, "WEAK_ORDERING"), (DmaAttrs.WriteCombine, "WRITE_COMBINE"),
        (DmaAttrs.NoKernelMapping, "NO_KERNEL_MAPPING"), (DmaAttrs.SkipCpuSync, "SKIP_CPU_SYNC"),
        (DmaAttrs.ForceContiguous, "FORCE_CONTIGUOUS"), (DmaAttrs.AllocSinglePages, "ALLOC_SINGLE_PAGES"),
        (DmaAttrs.NoWarn, "NO_WARN"), (DmaAttrs.Privileged, "PRIVILEGED"), (DmaAttrs.Mmio, "MMIO"),
        (DmaAttrs.CachelinesOverlap, "CACHELINES_OVERLAP"), (DmaAttrs.RequireCoherent, "REQUIRE_COHERENT"),
        (DmaAttrs.CcShared, "CC_SHARED"), (DmaAttrs.AllocCcShared, "ALLOC_CC_SHARED"),
        (DmaAttrs.CpuCacheClean, "CPU_CACHE_CLEAN"),
    ];

    public static string DirName(DmaDirection d) => d switch
    {
        DmaDirection.Bidirectional => "BIDIRECTIONAL",
        DmaDirection.ToDevice => "TO_DEVICE",
        DmaDirection.FromDevice => "FROM_DEVICE",
        DmaDirection.None => "NONE",
        _ => ((int)d).ToString(),
    };

    public static void AppendAttrs(StringBuilder sb, DmaAttrs attrs)
    {
        ulong rest = (ulong)attrs;
        bool first = true;
        foreach (var (bit, name) in AttrNames)
        {
            if ((rest & (ulong)bit) == 0) continue;
            if (!first) sb.Append('|');
            sb.Append(name);
            first = false;
            rest &= ~(ulong)bit;
        }
        if (rest != 0) { if (!first) sb.Append('|'); sb.Append("0x").AppendHex(rest); }
    }

    static void AppendArray(StringBuilder sb, ReadOnlySpan<ulong> values)
    {
        sb.Append('{');
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append("0x").AppendHex(values[i]);
        }
        sb.Append('}');
    }

    static StringBuilder Head(StringBuilder sb, TraceRecord r) =>
        sb.Append(r.Device).Append(" dir=").Append(DirName(r.Dir));

    /// <summary>The FIELDS part of <paramref name="r"/>'s line.</summary>
    public static void AppendFields(StringBuilder sb, TraceRecord r)
    {
        switch (r.Kind)
        {
            case TraceEventKind.DmaMapPhys:
            case TraceEventKind.DmaMapResource:
                Head(sb, r).Append(" dma_addr=").AppendHex(r.DmaAddr).Append(" size=").Append(r.Size)
                    .Append(" phys_addr=").AppendHex(r.PhysAddr).Append(" attrs=");
                AppendAttrs(sb, r.Attrs);
                break;
            case TraceEventKind.DmaUnmapPhys:
            case TraceEventKind.DmaUnmapResource:
                Head(sb, r).Append(" dma_addr=").AppendHex(r.DmaAddr).Append(" size=").Append(r.Size).Append(" attrs=");
                AppendAttrs(sb, r.Attrs);
                break;
            case TraceEventKind.DmaMapSg:
            {
                int nents = r.FullNents > 0 ? r.FullNents : r.PhysAddrs.Length;
                int ents = r.FullEnts > 0 ? r.FullEnts : r.DmaAddrs.Length;
                const int cap = TraceRecord.TraceMaxEntries;
                Head(sb, r).Append(" nents=").Append(Math.Min(nents, cap)).Append('/').Append(nents)
                    .Append(" ents=").Append(Math.Min(ents, cap)).Append('/').Append(ents);
                if (nents > cap || ents > cap) sb.Append(" [TRUNCATED]");
                sb.Append(" dma_addrs="); AppendArray(sb, r.DmaAddrs);
                sb.Append(" sizes="); AppendArray(sb, r.Lengths);
                sb.Append(" phys_addrs="); AppendArray(sb, r.PhysAddrs);
                sb.Append(" attrs="); AppendAttrs(sb, r.Attrs);
                break;
            }
            case TraceEventKind.DmaUnmapSg:
                Head(sb, r).Append(" phys_addrs="); AppendArray(sb, r.PhysAddrs);
                sb.Append(" attrs="); AppendAttrs(sb, r.Attrs);
                break;
            case TraceEventKind.DmaMapSgErr:
                // The kernel prints its phys_addrs array under the name "dma_addrs".
                Head(sb, r).Append(" dma_addrs="); AppendArray(sb, r.PhysAddrs);
                sb.Append(" err=").Append(r.Error).Append(" attrs="); AppendAttrs(sb, r.Attrs);
                break;
            case TraceEventKind.DmaAlloc:
            case TraceEventKind.DmaAllocPages:
            case TraceEventKind.DmaAllocSgtErr:
                Head(sb, r).Append(" dma_addr=").AppendHex(r.DmaAddr).Append(" size=").Append(r.Size)
                    .Append(" virt_addr=(____ptrval____) flags=").Append(r.Gfp).Append(" attrs=");
                AppendAttrs(sb, r.Attrs);
                break;
            case TraceEventKind.DmaAllocSgt:
                Head(sb, r).Append(" dma_addr=").AppendHex(r.DmaAddr).Append(" size=").Append(r.Size).Append(" phys_addrs=");
                AppendArray(sb, r.PhysAddrs);
                sb.Append(" flags=").Append(r.Gfp).Append(" attrs="); AppendAttrs(sb, r.Attrs);
                break;
            case TraceEventKind.DmaFree:
            case TraceEventKind.DmaFreePages:
                Head(sb, r).Append(" dma_addr=").AppendHex(r.DmaAddr).Append(" size=").Append(r.Size)
                    .Append(" virt_addr=(____ptrval____) attrs=");
                AppendAttrs(sb, r.Attrs);
                break;
            case TraceEventKind.DmaFreeSgt:
                Head(sb, r).Append(" dma_addr=").AppendHex(r.DmaAddr).Append(" size=").Append(r.Size).Append(" phys_addrs=");
                AppendArray(sb, r.PhysAddrs);
                break;
            case TraceEventKind.DmaSyncSingleForCpu:
            case TraceEventKind.DmaSyncSingleForDevice:
                Head(sb, r).Append(" dma_addr=").AppendHex(r.DmaAddr).Append(" size=").Append(r.Size);
                break;
            case TraceEventKind.DmaSyncSgForCpu:
            case TraceEventKind.DmaSyncSgForDevice:
                Head(sb, r).Append(" dma_addrs="); AppendArray(sb, r.DmaAddrs);
                sb.Append(" sizes="); AppendArray(sb, r.Lengths);
                break;
            case TraceEventKind.SwiotlbBounced:
                sb.Append("dev_name: ").Append(r.Device).Append(" dma_mask=").AppendHex(r.DmaMask)
                    .Append(" dev_addr=").AppendHex(r.PhysAddr).Append(" size=").Append(r.Size)
                    .Append(r.Forced ? " FORCE" : " NORMAL");
                break;
            case TraceEventKind.IommuMap:
                sb.Append("IOMMU: iova=0x").AppendHex(r.DmaAddr, 16).Append(" - 0x").AppendHex((r.DmaAddr + r.Size), 16)
                    .Append(" paddr=0x").AppendHex(r.PhysAddr, 16).Append(" size=").Append(r.Size);
                break;
            case TraceEventKind.IommuUnmap:
                sb.Append("IOMMU: iova=0x").AppendHex(r.DmaAddr, 16).Append(" - 0x").AppendHex((r.DmaAddr + r.Size), 16)
                    .Append(" size=").Append(r.Size).Append(" unmapped_size=").Append(r.UnmappedSize);
                break;
            case TraceEventKind.IommuIoPageFault:
                sb.Append("IOMMU:").Append(r.Driver).Append(' ').Append(r.Device).Append(" iova=0x").AppendHex(r.DmaAddr, 16)
                    .Append(" flags=0x").AppendHex((ulong)r.FaultFlags, 4);
                break;
            case TraceEventKind.IommuAddDeviceToGroup:
            case TraceEventKind.IommuRemoveDeviceFromGroup:
                sb.Append("IOMMU: groupID=").Append(r.GroupId).Append(" device=").Append(r.Device);
                break;
            case TraceEventKind.IommuAttachDeviceToDomain:
            case TraceEventKind.IommuDetachDeviceFromDomain:
                sb.Append("IOMMU: device=").Append(r.Device);
                break;
            case TraceEventKind.TracingMarkWrite:
                sb.Append(r.Message);
                break;
            case TraceEventKind.TimerStart:
                // The timer's address is hashed in tracefs output; idx and flags concern the wheel, not the replay.
                sb.Append("timer=(____ptrval____) function=").Append(r.TimerFunction).Append(" expires=").Append(r.TimerExpires)
                    .Append(" [timeout=").Append(unchecked((long)(r.TimerExpires - r.TimerJiffies))).Append("] bucket_expiry=")
                    .Append(r.TimerBucket).Append(" cpu=").Append(r.TimerCpu).Append(" idx=0 flags=");
                break;
            case TraceEventKind.TimerExpireEntry:
                sb.Append("timer=(____ptrval____) function=").Append(r.TimerFunction).Append(" now=").Append(r.TimerJiffies)
                    .Append(" baseclk=").Append(r.TimerBucket);
                break;
            default:
                throw new ArgumentException($"cannot format an event of kind {r.Kind}", nameof(r));
        }
    }

    /// <summary>The tracefs context prefix "TASK-PID [CPU] FLAGS SECONDS.MICROS: " (allocation-free).</summary>
    public static void AppendPrefix(StringBuilder sb, string task, int pid, int cpu, string flags, ulong ns)
    {
        if (task.Length < 16) sb.Append(' ', 16 - task.Length);
        sb.Append(task).Append('-');
        AppendPadded(sb, (ulong)pid, 7, left: true, '0', minDigits: 1);
        sb.Append(" [");
        AppendPadded(sb, (ulong)cpu, 3, left: false, '0', minDigits: 3);
        sb.Append("] ");
        if (flags.Length > 0) sb.Append(flags).Append(' ');
        AppendPadded(sb, ns / 1_000_000_000UL, 5, left: false, ' ', minDigits: 1);
        sb.Append('.');
        AppendPadded(sb, ns % 1_000_000_000UL / 1000, 6, left: false, '0', minDigits: 6);
        sb.Append(": ");
    }

    /// <summary>Decimal with at least <paramref name="minDigits"/> digits (zero-filled), padded to
    /// <paramref name="width"/> with spaces on the right (<paramref name="left"/>) or <paramref name="fill"/> on the left.</summary>
    static void AppendPadded(StringBuilder sb, ulong v, int width, bool left, char fill, int minDigits)
    {
        Span<char> buf = stackalloc char[20];
        v.TryFormat(buf, out int n);
        int digits = Math.Max(n, minDigits);
        if (!left) sb.Append(fill == '0' ? ' ' : fill, Math.Max(0, width - digits));
        if (digits > n) sb.Append('0', digits - n);
        sb.Append(buf[..n]);
        if (left) sb.Append(' ', Math.Max(0, width - digits));
    }

    /// <summary>Lower-case hex without prefix, zero-padded to <paramref name="minDigits"/> (allocation-free).</summary>
    public static StringBuilder AppendHex(this StringBuilder sb, ulong v, int minDigits = 1)
    {
        Span<char> buf = stackalloc char[16];
        v.TryFormat(buf, out int n, "x");
        if (n < minDigits) sb.Append('0', minDigits - n);
        return sb.Append(buf[..n]);
    }

    /// <summary>A whole tracefs line for <paramref name="r"/> (no newline). <paramref name="legacyNames"/> prints the
    /// pre-6.18 names dma_map_page/dma_unmap_page.</summary>
    public static string FormatLine(TraceRecord r, bool legacyNames = false)
    {
        var sb = new StringBuilder(160);
        AppendLine(sb, r, legacyNames);
        return sb.ToString();
    }

    public static void AppendLine(StringBuilder sb, TraceRecord r, bool legacyNames = false)
    {
        AppendPrefix(sb, r.Task.Length == 0 ? "<...>" : r.Task, r.Pid, r.Cpu, r.Flags.Length == 0 ? "....." : r.Flags, r.TimestampNs);
        sb.Append(legacyNames ? TraceEventNames.LegacyName(r.Kind) : TraceEventNames.DefaultName(r.Kind)).Append(": ");
        AppendFields(sb, r);
    }

    /// <summary>The header tracefs prints at the top of /sys/kernel/tracing/trace (tracer nop, irq-info on).</summary>
    public static string Header(long entries, int cpus) =>
        "# tracer: nop\n#\n" +
        $"# entries-in-buffer/entries-written: {entries}/{entries}   #P:{cpus}\n#\n" +
        "#                                _-----=> irqs-off/BH-disabled\n" +
        "#                               / _----=> need-resched\n" +
        "#                              | / _---=> hardirq/softirq\n" +
        "#                              || / _--=> preempt-depth\n" +
        "#                              ||| / _-=> migrate-disable\n" +
        "#                              |||| /     delay\n" +
        "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n" +
        "#              | |         |   |||||     |         |\n";
}
