using System.Runtime.CompilerServices;
using DmaLab.Dma;

namespace DmaLab.Trace;

/// <summary>
/// The fast path of the field parser: the layouts the kernel's TP_printk prints for the events that make up almost
/// every line of a DMA trace, read left to right at their fixed positions (Linux: include/trace/events/dma.h,
/// dma_map_phys / dma_unmap_phys / dma_map_sg / dma_unmap_sg; iommu.h, map / unmap; swiotlb.h, swiotlb_bounced).
/// It accepts only the exact printed form (single spaces, keys in the kernel's order, nothing after the last field)
/// and gives up on anything else, leaving the line to the general key=value parser. Whenever it accepts a line, the
/// record it fills is the one the general parser fills (tests check this on the real captures and on mutated lines).
/// </summary>
internal sealed partial class FtraceLineParser
{
    /// <summary>
    /// The header columns of a tracefs line in its usual shape, "  TASK-PID [CPU] FLAGS SECS.USECS: EVENT: FIELDS"
    /// (Linux: kernel/trace/trace_output.c, trace_print_context()), in one pass. Gives up (false) on anything the
    /// general path treats differently: a line that could be a comment, a lost-events or a trace-cmd preamble line,
    /// tabs, a "(TGID)" column, trace-cmd's "system:event" form, or anything malformed; <see cref="Classify"/> then
    /// decides. When it succeeds, <paramref name="h"/> is what <see cref="Classify"/> would give.
    /// </summary>
    internal static bool TryParseHeaderFast(ReadOnlySpan<byte> line, ref Header h)
    {
        int i = 0;
        while (i < line.Length && line[i] == (byte)' ') i++;
        if (i >= line.Length) return false;
        byte c0 = line[i];
        if (c0 is (byte)'#' or (byte)'\t' or (byte)'C' or (byte)'c' or (byte)'v' or (byte)'\r' or (byte)'\n') return false;
        int start = i;

        // "[CPU]": the first '[' must be it.
        int open = line[start..].IndexOf((byte)'[');
        if (open <= 0) return false;
        open += start;
        int j = open + 1;
        uint cpu = 0;
        while (j < line.Length && IsDigit(line[j]) && j - open <= 9) { cpu = cpu * 10 + (uint)(line[j] - '0'); j++; }
        if (j == open + 1 || j >= line.Length || line[j] != (byte)']') return false;
        int close = j;

        // "TASK-PID" before it, single spaces of padding.
        int e = open;
        while (e > start && line[e - 1] == (byte)' ') e--;
        int pe = e;
        uint pid = 0, mul = 1;
        while (pe > start && IsDigit(line[pe - 1]) && e - pe < 9) { pid += (uint)(line[pe - 1] - '0') * mul; mul *= 10; pe--; }
        if (pe == e || pe <= start || line[pe - 1] != (byte)'-' || (pe > start && IsDigit(line[pe - 1]))) return false;
        var task = line[start..(pe - 1)];

        // " FLAGS " (optional) and "TIMESTAMP: ".
        int k = close + 1;
        if (k >= line.Length || line[k] != (byte)' ') return false;
        while (k < line.Length && line[k] == (byte)' ') k++;
        if (k < line.Length && line[k] == (byte)'\t') return false;
        int tokEnd = k;
        while (tokEnd < line.Length && line[tokEnd] != (byte)' ') tokEnd++;
        var first = line[k..tokEnd];
        ReadOnlySpan<byte> flags = default;
        if (!LooksLikeTimestamp(first))
        {
            flags = first;
            k = tokEnd;
            while (k < line.Length && line[k] == (byte)' ') k++;
            if (k < line.Length && line[k] == (byte)'\t') return false;
            tokEnd = k;
            while (tokEnd < line.Length && line[tokEnd] != (byte)' ') tokEnd++;
            first = line[k..tokEnd];
            if (!LooksLikeTimestamp(first)) return false;
        }
        if (tokEnd >= line.Length || !TryParseTimestamp(first[..^1], out ulong ns)) return false;

        // "EVENT: " (a trace-cmd "system:event" goes to the general path).
        k = tokEnd;
        while (k < line.Length && line[k] == (byte)' ') k++;
        if (k < line.Length && line[k] == (byte)'\t') return false;
        var rest = line[k..];
        int colon = rest.IndexOf((byte)':');
        if (colon <= 0 || colon + 1 >= rest.Length || rest[colon + 1] != (byte)' ') return false;
        var ev = rest[..colon];
        if (!IsEventName(ev)) return false;

        h.Task = task;
        h.Pid = (int)pid;
        h.Cpu = (int)cpu;
        h.Flags = flags;
        h.TimestampNs = ns;
        h.Event = ev;
        h.Fields = TrimStart(rest[(colon + 1)..]);
        return true;
    }

    /// <summary>Fills <paramref name="r"/> (reset by the caller) when <paramref name="f"/> is in the kernel's exact
    /// layout for <paramref name="kind"/>; false (record possibly half filled) otherwise.</summary>
    internal bool TryParseFieldsFast(TraceEventKind kind, ReadOnlySpan<byte> f, TraceRecord r)
    {
        switch (kind)
        {
            case TraceEventKind.DmaMapPhys:
            case TraceEventKind.DmaMapResource: return FastSingle(f, r, withPhys: true);
            case TraceEventKind.DmaUnmapPhys:
            case TraceEventKind.DmaUnmapResource: return FastSingle(f, r, withPhys: false);
            case TraceEventKind.DmaMapSg: return FastMapSg(f, r);
            case TraceEventKind.DmaUnmapSg: return FastUnmapSg(f, r);
            case TraceEventKind.IommuMap: return FastIommu(f, r, unmap: false);
            case TraceEventKind.IommuUnmap: return FastIommu(f, r, unmap: true);
            case TraceEventKind.SwiotlbBounced: return FastBounced(f, r);
            default: return false;
        }
    }

    // "DEV dir=DIR dma_addr=%llx size=%zu [phys_addr=%llx ]attrs=FLAGS"
    bool FastSingle(ReadOnlySpan<byte> f, TraceRecord r, bool withPhys)
    {
        int p = 0;
        if (!FastDeviceAndDir(f, ref p, r)) return false;
        if (!Lit(f, ref p, "dma_addr="u8) || !Hex(f, ref p, out ulong dma) || !Lit(f, ref p, " size="u8)
            || !Dec(f, ref p, out ulong size)) return false;
        r.DmaAddr = dma;
        r.Size = size;
        if (withPhys)
        {
            if (!Lit(f, ref p, " phys_addr="u8) || !Hex(f, ref p, out ulong phys)) return false;
            r.PhysAddr = phys;
        }
        return Lit(f, ref p, " attrs="u8) && AttrsToEnd(f[p..], r);
    }

    // "DEV dir=DIR nents=%d/%d ents=%d/%d[ [TRUNCATED]] dma_addrs={..} sizes={..} phys_addrs={..} attrs=FLAGS"
    bool FastMapSg(ReadOnlySpan<byte> f, TraceRecord r)
    {
        int p = 0;
        if (!FastDeviceAndDir(f, ref p, r)) return false;
        if (!Lit(f, ref p, "nents="u8) || !Fraction(f, ref p, out int nents) || !Lit(f, ref p, " ents="u8)
            || !Fraction(f, ref p, out int ents)) return false;
        r.FullNents = nents;
        r.FullEnts = ents;
        if (Lit(f, ref p, " [TRUNCATED]"u8)) r.Truncated = true;
        if (!Lit(f, ref p, " dma_addrs="u8) || !HexArray(f, ref p, ref r.DmaBuf, out r.DmaCount)) return false;
        if (!Lit(f, ref p, " sizes="u8) || !HexArray(f, ref p, ref r.LenBuf, out r.LenCount)) return false;
        if (!Lit(f, ref p, " phys_addrs="u8) || !HexArray(f, ref p, ref r.PhysBuf, out r.PhysCount)) return false;
        return Lit(f, ref p, " attrs="u8) && AttrsToEnd(f[p..], r);
    }

    // "DEV dir=DIR phys_addrs={..} attrs=FLAGS"
    bool FastUnmapSg(ReadOnlySpan<byte> f, TraceRecord r)
    {
        int p = 0;
        if (!FastDeviceAndDir(f, ref p, r)) return false;
        if (!Lit(f, ref p, "phys_addrs="u8) || !HexArray(f, ref p, ref r.PhysBuf, out r.PhysCount)) return false;
        return Lit(f, ref p, " attrs="u8) && AttrsToEnd(f[p..], r);
    }

    // map: "IOMMU: iova=0x%016llx - 0x%016llx paddr=0x%016llx size=%zu"
    // unmap: "IOMMU: iova=0x%016llx - 0x%016llx size=%zu unmapped_size=%zu"
    static bool FastIommu(ReadOnlySpan<byte> f, TraceRecord r, bool unmap)
    {
        int p = 0;
        if (!Lit(f, ref p, "IOMMU: iova="u8) || !Hex(f, ref p, out ulong iova) || !Lit(f, ref p, " - "u8)
            || !Hex(f, ref p, out _)) return false;
        r.DmaAddr = iova;
        if (!unmap)
        {
            if (!Lit(f, ref p, " paddr="u8) || !Hex(f, ref p, out ulong pa)) return false;
            r.PhysAddr = pa;
        }
        if (!Lit(f, ref p, " size="u8) || !Dec(f, ref p, out ulong size)) return false;
        r.Size = size;
        if (unmap)
        {
            if (!Lit(f, ref p, " unmapped_size="u8) || !Dec(f, ref p, out ulong us)) return false;
            r.UnmappedSize = us;
        }
        return p == f.Length;
    }

    // "dev_name: DEV dma_mask=%llx dev_addr=%llx size=%zu FORCE|NORMAL"
    bool FastBounced(ReadOnlySpan<byte> f, TraceRecord r)
    {
        int p = 0;
        if (!Lit(f, ref p, "dev_name: "u8)) return false;
        int sp = f[p..].IndexOf((byte)' ');
        if (sp <= 0) return false;
        var dev = f.Slice(p, sp);
        p += sp;
        if (!Lit(f, ref p, " dma_mask="u8) || !Hex(f, ref p, out ulong mask) || !Lit(f, ref p, " dev_addr="u8)
            || !Hex(f, ref p, out ulong addr) || !Lit(f, ref p, " size="u8) || !Dec(f, ref p, out ulong size)) return false;
        var tail = f[p..];
        if (tail.SequenceEqual(" FORCE"u8)) r.Forced = true;
        else if (!tail.SequenceEqual(" NORMAL"u8)) return false;
        SetDevice(r, dev);
        r.DmaMask = mask;
        r.PhysAddr = addr;
        r.Size = size;
        return true;
    }

    /// <summary>"DEV dir=NAME ": the device (no '=' in it, as the general parser demands) and the direction name.</summary>
    bool FastDeviceAndDir(ReadOnlySpan<byte> f, ref int p, TraceRecord r)
    {
        int sp = f.IndexOf((byte)' ');
        if (sp <= 0) return false;
        var dev = f[..sp];
        if (dev.IndexOf((byte)'=') >= 0) return false;
        p = sp + 1;
        if (!Lit(f, ref p, "dir="u8) || p >= f.Length) return false;
        DmaDirection d;
        switch (f[p])
        {
            case (byte)'B': if (!Lit(f, ref p, "BIDIRECTIONAL "u8)) return false; d = DmaDirection.Bidirectional; break;
            case (byte)'T': if (!Lit(f, ref p, "TO_DEVICE "u8)) return false; d = DmaDirection.ToDevice; break;
            case (byte)'F': if (!Lit(f, ref p, "FROM_DEVICE "u8)) return false; d = DmaDirection.FromDevice; break;
            case (byte)'N': if (!Lit(f, ref p, "NONE "u8)) return false; d = DmaDirection.None; break;
            default: return false;
        }
        SetDevice(r, dev);
        r.Dir = d;
        return true;
    }

    /// <summary>The attrs value, which ends the line: empty (the usual case) or __print_flags names.</summary>
    static bool AttrsToEnd(ReadOnlySpan<byte> v, TraceRecord r)
    {
        if (v.IsEmpty) return true;
        if (v.IndexOf((byte)' ') >= 0 || !TryParseAttrs(v, out var attrs)) return false;
        r.Attrs = attrs;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Lit(ReadOnlySpan<byte> f, ref int p, ReadOnlySpan<byte> lit)
    {
        if (!f[p..].StartsWith(lit)) return false;
        p += lit.Length;
        return true;
    }

    /// <summary>Hex digits (optionally after "0x"), 1 to 16 of them, as <see cref="TryParseHex"/> accepts. The
    /// caller checks what follows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Hex(ReadOnlySpan<byte> f, ref int p, out ulong v)
    {
        v = 0;
        int i = p;
        if (i + 2 < f.Length && f[i] == (byte)'0' && (f[i + 1] | 0x20) == (byte)'x' && HexDigit(f[i + 2]) >= 0) i += 2;
        int start = i;
        while (i < f.Length)
        {
            int d = HexDigit(f[i]);
            if (d < 0) break;
            v = (v << 4) | (uint)d;
            i++;
        }
        int n = i - start;
        if (n == 0 || n > 16) return false;
        p = i;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int HexDigit(byte b)
    {
        uint d = (uint)(b - '0');
        if (d <= 9) return (int)d;
        d = (uint)((b | 0x20) - 'a');
        return d <= 5 ? (int)d + 10 : -1;
    }

    /// <summary>Decimal digits, at most 19 (no overflow possible; <see cref="TryParseDec"/> takes 20 with a check,
    /// a 20-digit value goes to the general parser).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Dec(ReadOnlySpan<byte> f, ref int p, out ulong v)
    {
        v = 0;
        int i = p;
        while (i < f.Length && IsDigit(f[i])) { v = v * 10 + (uint)(f[i] - '0'); i++; }
        int n = i - p;
        if (n == 0 || n > 19) return false;
        p = i;
        return true;
    }

    /// <summary>"N/M" or "N" (nents=, ents=): the full count, as <see cref="TryParseFraction"/>; non-negative
    /// numbers of at most 9 digits here, anything else goes to the general parser.</summary>
    static bool Fraction(ReadOnlySpan<byte> f, ref int p, out int full)
    {
        full = 0;
        if (!Dec(f, ref p, out ulong a) || a > 999_999_999) return false;
        full = (int)a;
        if (p < f.Length && f[p] == (byte)'/')
        {
            int q = p + 1;
            if (!Dec(f, ref q, out ulong b) || b > 999_999_999) return false;
            full = (int)b;
            p = q;
        }
        return true;
    }

    /// <summary>"{0x1,0x2}" (__print_array), closed; growing the record's buffer as the general parser does.</summary>
    static bool HexArray(ReadOnlySpan<byte> f, ref int p, ref ulong[] buf, out int count)
    {
        count = 0;
        if (p >= f.Length || f[p] != (byte)'{') return false;
        int i = p + 1;
        if (i < f.Length && f[i] == (byte)'}') { p = i + 1; return true; }
        while (true)
        {
            if (!Hex(f, ref i, out ulong x) || i >= f.Length) return false;
            if (count == buf.Length) Array.Resize(ref buf, buf.Length * 2);
            buf[count++] = x;
            byte c = f[i++];
            if (c == (byte)'}') { p = i; return true; }
            if (c != (byte)',') return false;
        }
    }
}
