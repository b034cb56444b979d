using System.Text;
using DmaLab.Dma;

namespace DmaLab.Trace;

/// <summary>
/// Parses one line of ftrace text (UTF-8 bytes) as tracefs (trace, trace_pipe) and `trace-cmd report` print it:
/// <c>TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: FIELDS</c>, with or without the flags column, with or without a
/// "(TGID)" column, with trace-cmd's padded event column and optional "system:" prefix
/// (Linux: kernel/trace/trace_output.c, trace_print_context()). Field layouts follow each TP_printk.
/// Never throws on bad input: returns false with a reason.
/// </summary>
internal sealed partial class FtraceLineParser
{
    readonly NameView _devices;
    readonly NameView _strings;
    uint _have;

    public FtraceLineParser(NameView devices, NameView strings) { _devices = devices; _strings = strings; }

    public FtraceLineParser(NameTable devices, NameTable strings) : this(new NameView(devices), new NameView(strings)) { }

    /// <summary>Try the fixed-layout fast path (<see cref="TryParseFieldsFast"/>) before the general parser. Off
    /// only in tests that compare the two.</summary>
    public bool FastPath { get; init; } = true;

    public enum LineType { Event, Comment, Blank, Lost, Malformed }

    /// <summary>The header columns of an event line, as spans into the line.</summary>
    public ref struct Header
    {
        public ReadOnlySpan<byte> Task;
        public int Pid;
        public int Cpu;
        public ReadOnlySpan<byte> Flags;
        public ulong TimestampNs;
        public ReadOnlySpan<byte> Event;
        public ReadOnlySpan<byte> Fields;
    }

    public static LineType Classify(ReadOnlySpan<byte> line, out Header h, out string? reason, out int lostCpu, out long lostCount)
    {
        h = default; reason = null; lostCpu = -1; lostCount = 0;
        var t = Trim(line);
        if (t.IsEmpty) return LineType.Blank;
        if (t[0] == (byte)'#') return LineType.Comment;
        if (t.StartsWith("CPU:"u8) && t.IndexOf("[LOST "u8) >= 0)
        {
            // "CPU:3 [LOST 120 EVENTS]" (trace_output.c / trace-cmd); the count may be absent ("[LOST EVENTS]").
            var rest = t[4..];
            lostCpu = (int)Math.Min(int.MaxValue, LeadingDecimal(rest, out _));
            int lp = t.IndexOf("[LOST "u8) + 6;
            lostCount = LeadingDecimal(t[lp..], out int nd);
            if (nd == 0) lostCount = -1;
            // The ring buffer counts lost events in an unsigned long: a count longer than a long holds saturates.
            else if (nd == 18 && lp + nd < t.Length && IsDigit(t[lp + nd])) lostCount = long.MaxValue;
            return LineType.Lost;
        }
        // trace-cmd report preamble lines.
        if (t.StartsWith("cpus="u8) || t.StartsWith("version"u8) || t.StartsWith("CPU "u8) && t.EndsWith("is empty"u8))
            return LineType.Comment;
        if (TryParseHeader(line, ref h, out reason)) return LineType.Event;
        return LineType.Malformed;
    }

    static bool TryParseHeader(ReadOnlySpan<byte> line, ref Header h, out string? reason)
    {
        // Locate "[CPU]": the first '[' followed by digits and ']'.
        int search = 0, open = -1, close = -1;
        while (true)
        {
            int i = line[search..].IndexOf((byte)'[');
            if (i < 0) break;
            i += search;
            int j = i + 1;
            while (j < line.Length && IsDigit(line[j])) j++;
            if (j > i + 1 && j < line.Length && line[j] == (byte)']') { open = i; close = j; break; }
            search = i + 1;
        }
        if (open < 0) return TryParseLatencyHeader(line, ref h, out reason);
        h.Cpu = (int)Math.Min(int.MaxValue, ParseDecimalOr(line[(open + 1)..close], -1));

        var before = TrimEnd(line[..open]);
        if (!before.IsEmpty && before[^1] == (byte)')')
        {
            int lp = before.LastIndexOf((byte)'(');
            if (lp < 0) { reason = "unbalanced '(' in TGID column"; return false; }
            before = TrimEnd(before[..lp]);
        }
        int p = before.Length;
        while (p > 0 && IsDigit(before[p - 1])) p--;
        if (p == before.Length || p == 0 || before[p - 1] != (byte)'-') { reason = "expected TASK-PID before [CPU]"; return false; }
        if (before.Length - p > 9) { reason = "pid out of range"; return false; }
        h.Pid = (int)ParseDecimalOr(before[p..], 0);
        h.Task = TrimStart(before[..(p - 1)]);

        var rest = TrimStart(line[(close + 1)..]);
        // Optional flags column, then "TIMESTAMP:".
        int sp = rest.IndexOf((byte)' ');
        var first = sp < 0 ? rest : rest[..sp];
        if (!LooksLikeTimestamp(first))
        {
            h.Flags = first;
            rest = sp < 0 ? default : TrimStart(rest[sp..]);
            sp = rest.IndexOf((byte)' ');
            first = sp < 0 ? rest : rest[..sp];
        }
        if (!LooksLikeTimestamp(first)) { reason = "expected TIMESTAMP: after [CPU]"; return false; }
        if (!TryParseTimestamp(first[..^1], out h.TimestampNs)) { reason = "bad timestamp"; return false; }
        rest = sp < 0 ? default : TrimStart(rest[sp..]);
        return TryParseEvent(rest, ref h, out reason);
    }

    /// <summary>
    /// trace-cmd report -l's latency form, "TASK-PID CPUFLAGS TIMESTAMP: EVENT: FIELDS": the CPU number runs straight
    /// into the irqs-off/need-resched/hardirq-softirq/preempt(/migrate-disable) flags ("1d.h1.").
    /// </summary>
    static bool TryParseLatencyHeader(ReadOnlySpan<byte> line, ref Header h, out string? reason)
    {
        reason = "expected 'TASK-PID [CPU] TIMESTAMP: EVENT: FIELDS'";
        // The timestamp is the first "DIGITS.DIGITS:" token after the task; the token before it is CPU and flags.
        var rest = TrimStart(line);
        int prevStart = -1, prevEnd = -1, pos = 0;
        while (pos < rest.Length)
        {
            int end = rest[pos..].IndexOf((byte)' ');
            end = end < 0 ? rest.Length : pos + end;
            var tok = rest[pos..end];
            if (prevStart > 0 && LooksLikeTimestamp(tok) && tok.IndexOf((byte)'.') > 0)
            {
                var cpuFlags = rest[prevStart..prevEnd];
                int d = 0;
                while (d < cpuFlags.Length && IsDigit(cpuFlags[d])) d++;
                if (d == 0 || d > 9 || cpuFlags.Length - d is < 4 or > 5) return false;
                var before = TrimEnd(rest[..prevStart]);
                int p = before.Length;
                while (p > 0 && IsDigit(before[p - 1])) p--;
                if (p == before.Length || p == 0 || before[p - 1] != (byte)'-' || before.Length - p > 9) return false;
                if (!TryParseTimestamp(tok[..^1], out h.TimestampNs)) { reason = "bad timestamp"; return false; }
                h.Cpu = (int)ParseDecimalOr(cpuFlags[..d], -1);
                h.Flags = cpuFlags[d..];
                h.Pid = (int)ParseDecimalOr(before[p..], 0);
                h.Task = TrimStart(before[..(p - 1)]);
                return TryParseEvent(end < rest.Length ? TrimStart(rest[end..]) : default, ref h, out reason);
            }
            if (end > pos) { prevStart = pos; prevEnd = end; }
            pos = end + 1;
        }
        return false;
    }

    /// <summary>"EVENT: FIELDS" after the timestamp.</summary>
    static bool TryParseEvent(ReadOnlySpan<byte> rest, ref Header h, out string? reason)
    {
        // "EVENT:" or trace-cmd's "system:EVENT:".
        int colon = rest.IndexOf((byte)':');
        if (colon <= 0) { reason = "expected EVENT: after the timestamp"; return false; }
        var ev = rest[..colon];
        if (colon + 1 < rest.Length && rest[colon + 1] != (byte)' ')
        {
            int c2 = rest[(colon + 1)..].IndexOf((byte)':');
            if (c2 > 0 && IsEventName(rest.Slice(colon + 1, c2)))
            {
                ev = rest.Slice(colon + 1, c2);
                colon = colon + 1 + c2;
            }
        }
        if (!IsEventName(ev)) { reason = "bad event name"; return false; }
        h.Event = ev;
        h.Fields = colon + 1 < rest.Length ? TrimStart(rest[(colon + 1)..]) : default;
        reason = null;
        return true;
    }

    static bool LooksLikeTimestamp(ReadOnlySpan<byte> s) =>
        s.Length >= 2 && s[^1] == (byte)':' && IsDigit(s[0]);

    /// <summary>"seconds.fraction" (µs or ns precision) or a raw counter, to nanoseconds.</summary>
    internal static bool TryParseTimestamp(ReadOnlySpan<byte> s, out ulong ns)
    {
        ns = 0;
        int dot = s.IndexOf((byte)'.');
        var whole = dot < 0 ? s : s[..dot];
        if (whole.IsEmpty || whole.Length > 11) return false;
        ulong sec = 0;
        foreach (byte b in whole) { if (!IsDigit(b)) return false; sec = sec * 10 + (ulong)(b - '0'); }
        if (dot < 0) { ns = sec; return true; } // counter clocks print a bare number
        var frac = s[(dot + 1)..];
        if (frac.IsEmpty || frac.Length > 9) return false;
        ulong f = 0;
        foreach (byte b in frac) { if (!IsDigit(b)) return false; f = f * 10 + (ulong)(b - '0'); }
        for (int i = frac.Length; i < 9; i++) f *= 10;
        ns = sec * 1_000_000_000UL + f;
        return true;
    }

    static bool IsEventName(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty || s.Length > 64) return false;
        foreach (byte b in s)
            if (!(b is >= (byte)'a' and <= (byte)'z' || b is >= (byte)'A' and <= (byte)'Z' || IsDigit(b) || b == (byte)'_')) return false;
        return true;
    }

    // ---- fields -------------------------------------------------------------------------------------------------

    /// <summary>Fills <paramref name="r"/> from the FIELDS part of a known event. False (with reason) if malformed.</summary>
    public bool TryParseFields(TraceEventKind kind, ReadOnlySpan<byte> f, TraceRecord r, out string? reason)
    {
        reason = null;
        if (f.StartsWith(FailedToParse)) return TryParseRaw(kind, f[FailedToParse.Length..], r, out reason);
        if (FastPath)
        {
            if (TryParseFieldsFast(kind, f, r)) return true;
            r.Reset(); // the general parser starts from a clean record (the header columns are kept)
        }
        switch (kind)
        {
            case TraceEventKind.TracingMarkWrite:
                r.Message = Encoding.UTF8.GetString(TrimEnd(f));
                return true;
            case TraceEventKind.IommuMap:
            case TraceEventKind.IommuUnmap:
                if (!f.StartsWith("IOMMU:"u8)) { reason = "expected 'IOMMU: iova=...'"; return false; }
                return ParseKeyValues(kind, f[6..], r, ref reason) && Require(r, kind, ref reason);
            case TraceEventKind.IommuAddDeviceToGroup:
            case TraceEventKind.IommuRemoveDeviceFromGroup:
            case TraceEventKind.IommuAttachDeviceToDomain:
            case TraceEventKind.IommuDetachDeviceFromDomain:
            {
                if (!f.StartsWith("IOMMU:"u8)) { reason = "expected 'IOMMU: ... device=...'"; return false; }
                if (!ParseKeyValues(kind, f[6..], r, ref reason)) return false;
                if ((_have & HaveDevice) == 0) { reason = "missing device="; return false; }
                return true;
            }
            case TraceEventKind.IommuIoPageFault:
            {
                // "IOMMU:%s %s iova=0x%016llx flags=0x%04x": driver glued to "IOMMU:", then the device.
                if (!f.StartsWith("IOMMU:"u8)) { reason = "expected 'IOMMU:DRIVER DEVICE iova=...'"; return false; }
                var rest = f[6..];
                var drv = NextToken(ref rest);
                var dev = NextToken(ref rest);
                if (dev.IsEmpty) { reason = "expected a device after the driver"; return false; }
                r.Driver = _strings[_strings.Intern(drv)];
                SetDevice(r, dev);
                return ParseKeyValues(kind, rest, r, ref reason);
            }
            case TraceEventKind.TimerStart:
            case TraceEventKind.TimerExpireEntry:
                return ParseTimer(kind, f, r, ref reason);
            case TraceEventKind.SwiotlbBounced:
            {
                var rest = f;
                if (rest.StartsWith("dev_name:"u8)) rest = rest[9..];
                var dev = NextToken(ref rest);
                if (dev.IsEmpty) { reason = "expected 'dev_name: DEVICE'"; return false; }
                SetDevice(r, dev);
                return ParseKeyValues(kind, rest, r, ref reason) && Require(r, kind, ref reason);
            }
            default:
            {
                // dma:* events: "DEVICE dir=... key=value ...".
                var rest = f;
                var dev = NextToken(ref rest);
                if (dev.IsEmpty || dev.IndexOf((byte)'=') >= 0) { reason = "expected the device name first"; return false; }
                SetDevice(r, dev);
                return ParseKeyValues(kind, rest, r, ref reason) && Require(r, kind, ref reason);
            }
        }
    }

    // timer_start: "timer=%p function=%ps expires=%lu [timeout=%ld] bucket_expiry=%lu cpu=%u idx=%u flags=%s";
    // timer_expire_entry: "timer=%p function=%ps now=%lu baseclk=%lu" (Linux: include/trace/events/timer.h).
    bool ParseTimer(TraceEventKind kind, ReadOnlySpan<byte> f, TraceRecord r, ref string? reason)
    {
        var rest = f;
        bool haveFn = false, haveNow = false, haveExpires = false, haveTimeout = false;
        long timeout = 0;
        while (!rest.IsEmpty)
        {
            var tok = NextToken(ref rest);
            if (tok.IsEmpty) break;
            if (tok[0] == (byte)'[') tok = tok[1..];
            if (!tok.IsEmpty && tok[^1] == (byte)']') tok = tok[..^1];
            int eq = tok.IndexOf((byte)'=');
            if (eq <= 0) continue;
            var key = tok[..eq];
            var val = tok[(eq + 1)..];
            bool ok = true;
            if (key.SequenceEqual("function"u8)) { r.TimerFunction = _strings[_strings.Intern(val)]; haveFn = true; }
            else if (key.SequenceEqual("expires"u8)) { ok = TryParseDec(val, out var e); r.TimerExpires = e; haveExpires = true; }
            else if (key.SequenceEqual("timeout"u8)) { ok = TryParseSigned64(val, out timeout); haveTimeout = true; }
            else if (key.SequenceEqual("bucket_expiry"u8) || key.SequenceEqual("baseclk"u8)) { ok = TryParseDec(val, out var b); r.TimerBucket = b; }
            else if (key.SequenceEqual("cpu"u8)) { ok = TryParseDec(val, out var c); r.TimerCpu = (int)Math.Min(c, int.MaxValue); }
            else if (key.SequenceEqual("now"u8)) { ok = TryParseDec(val, out var n); r.TimerJiffies = n; haveNow = true; }
            if (!ok) { reason = $"bad value in '{Encoding.UTF8.GetString(tok)}'"; return false; }
        }
        if (!haveFn) { reason = "missing function="; return false; }
        if (kind == TraceEventKind.TimerExpireEntry)
        {
            if (!haveNow) { reason = "missing now="; return false; }
            return true;
        }
        if (!haveExpires || !haveTimeout) { reason = "missing expires= or [timeout=]"; return false; }
        r.TimerJiffies = unchecked(r.TimerExpires - (ulong)timeout);
        return true;
    }

    static bool TryParseSigned64(ReadOnlySpan<byte> v, out long x)
    {
        x = 0;
        bool neg = !v.IsEmpty && v[0] == (byte)'-';
        if (neg) v = v[1..];
        if (!TryParseDec(v, out ulong u) || u > long.MaxValue) return false;
        x = neg ? -(long)u : (long)u;
        return true;
    }

    const uint HaveDir = 1, HaveDma = 2, HaveSize = 4, HavePhys = 8, HavePhysList = 16, HaveDmaList = 32, HaveIova = 64, HaveDevice = 128;

    bool Require(TraceRecord r, TraceEventKind kind, ref string? reason)
    {
        uint need = kind switch
        {
            TraceEventKind.DmaMapPhys or TraceEventKind.DmaMapResource => HaveDma | HaveSize | HavePhys,
            TraceEventKind.DmaUnmapPhys or TraceEventKind.DmaUnmapResource => HaveDma | HaveSize,
            TraceEventKind.DmaMapSg => HavePhysList,
            TraceEventKind.DmaUnmapSg => HavePhysList,
            TraceEventKind.DmaAlloc or TraceEventKind.DmaFree or TraceEventKind.DmaAllocPages or TraceEventKind.DmaFreePages
                or TraceEventKind.DmaAllocSgt or TraceEventKind.DmaFreeSgt or TraceEventKind.DmaAllocSgtErr => HaveDma | HaveSize,
            TraceEventKind.DmaSyncSingleForCpu or TraceEventKind.DmaSyncSingleForDevice => HaveDma | HaveSize,
            TraceEventKind.DmaSyncSgForCpu or TraceEventKind.DmaSyncSgForDevice => HaveDmaList,
            TraceEventKind.SwiotlbBounced => HavePhys | HaveSize,
            TraceEventKind.IommuMap => HaveIova | HavePhys | HaveSize,
            TraceEventKind.IommuUnmap => HaveIova | HaveSize,
            _ => 0,
        };
        if ((_have & need) == need) return true;
        reason = (need & ~_have) switch
        {
            var m when (m & HaveDma) != 0 => "missing dma_addr=",
            var m when (m & HaveSize) != 0 => "missing size=",
            var m when (m & HavePhys) != 0 => kind == TraceEventKind.IommuMap ? "missing paddr=" : kind == TraceEventKind.SwiotlbBounced ? "missing dev_addr=" : "missing phys_addr=",
            var m when (m & HavePhysList) != 0 => "missing phys_addrs={...}",
            var m when (m & HaveDmaList) != 0 => "missing dma_addrs={...}",
            _ => "missing iova=",
        };
        return false;
    }

    void SetDevice(TraceRecord r, ReadOnlySpan<byte> dev)
    {
        int id = _devices.Intern(dev);
        r.DeviceId = id;
        r.Device = _devices[id];
    }

    bool ParseKeyValues(TraceEventKind kind, ReadOnlySpan<byte> rest, TraceRecord r, ref string? reason)
    {
        _have = 0;
        while (true)
        {
            var tok = NextToken(ref rest);
            if (tok.IsEmpty) return true;
            int eq = tok.IndexOf((byte)'=');
            if (eq < 0)
            {
                if (tok.SequenceEqual("[TRUNCATED]"u8)) r.Truncated = true;
                else if (tok.SequenceEqual("FORCE"u8)) r.Forced = true;
                // "-" and the iova end in iommu map/unmap, "NORMAL": nothing to keep.
                continue;
            }
            var key = tok[..eq];
            var val = tok[(eq + 1)..];
            bool ok = true;
            switch (key.Length)
            {
                case 3 when key.SequenceEqual("dir"u8): ok = TryParseDir(val, out var d); r.Dir = d; _have |= HaveDir; break;
                case 4 when key.SequenceEqual("iova"u8): ok = TryParseHex(val, out var iova); r.DmaAddr = iova; _have |= HaveIova; break;
                case 4 when key.SequenceEqual("size"u8): ok = TryParseDec(val, out var sz); r.Size = sz; _have |= HaveSize; break;
                case 5 when key.SequenceEqual("attrs"u8): ok = TryParseAttrs(val, out var a); r.Attrs = a; break;
                case 5 when key.SequenceEqual("paddr"u8): ok = TryParseHex(val, out var pa); r.PhysAddr = pa; _have |= HavePhys; break;
                case 5 when key.SequenceEqual("nents"u8): ok = TryParseFraction(val, out int nf); r.FullNents = nf; break;
                case 4 when key.SequenceEqual("ents"u8): ok = TryParseFraction(val, out int ef); r.FullEnts = ef; break;
                case 5 when key.SequenceEqual("sizes"u8): ok = TryParseArray(val, ref r.LenBuf, out r.LenCount); break;
                case 5 when key.SequenceEqual("flags"u8):
                    if (kind == TraceEventKind.IommuIoPageFault) { ok = TryParseHex(val, out var ff); r.FaultFlags = (int)ff; }
                    else r.Gfp = _strings[_strings.Intern(val)];
                    break;
                case 3 when key.SequenceEqual("err"u8): ok = TryParseSigned(val, out int err); r.Error = err; break;
                case 6 when key.SequenceEqual("device"u8): SetDevice(r, val); _have |= HaveDevice; break;
                case 7 when key.SequenceEqual("groupID"u8): ok = TryParseSigned(val, out int gid); r.GroupId = gid; break;
                case 8 when key.SequenceEqual("dma_addr"u8): ok = TryParseHex(val, out var da); r.DmaAddr = da; _have |= HaveDma; break;
                case 8 when key.SequenceEqual("dev_addr"u8): ok = TryParseHex(val, out var dv); r.PhysAddr = dv; _have |= HavePhys; break;
                case 8 when key.SequenceEqual("dma_mask"u8): ok = TryParseHex(val, out var dm); r.DmaMask = dm; break;
                case 9 when key.SequenceEqual("phys_addr"u8): ok = TryParseHex(val, out var ph); r.PhysAddr = ph; _have |= HavePhys; break;
                case 9 when key.SequenceEqual("dma_addrs"u8):
                    // dma_map_sg_err prints its phys_addrs array under the name "dma_addrs" (Linux: dma.h).
                    if (kind == TraceEventKind.DmaMapSgErr) { ok = TryParseArray(val, ref r.PhysBuf, out r.PhysCount); _have |= HavePhysList; }
                    else { ok = TryParseArray(val, ref r.DmaBuf, out r.DmaCount); _have |= HaveDmaList; }
                    break;
                case 10 when key.SequenceEqual("phys_addrs"u8): ok = TryParseArray(val, ref r.PhysBuf, out r.PhysCount); _have |= HavePhysList; break;
                case 13 when key.SequenceEqual("unmapped_size"u8): ok = TryParseDec(val, out var us); r.UnmappedSize = us; break;
                default: break; // virt_addr and keys of newer kernels: ignored
            }
            if (!ok) { reason = $"bad value for {Encoding.ASCII.GetString(key)}="; return false; }
        }
    }

    /// <summary>"nents=128/149": keeps the full count (after the slash), or the single number when there is none.</summary>
    static bool TryParseFraction(ReadOnlySpan<byte> v, out int full)
    {
        full = 0;
        int slash = v.IndexOf((byte)'/');
        var f = slash < 0 ? v : v[(slash + 1)..];
        if (slash >= 0 && !TryParseSigned(v[..slash], out _)) return false;
        return TryParseSigned(f, out full);
    }

    static bool TryParseDir(ReadOnlySpan<byte> v, out DmaDirection d)
    {
        if (v.SequenceEqual("BIDIRECTIONAL"u8)) { d = DmaDirection.Bidirectional; return true; }
        if (v.SequenceEqual("TO_DEVICE"u8)) { d = DmaDirection.ToDevice; return true; }
        if (v.SequenceEqual("FROM_DEVICE"u8)) { d = DmaDirection.FromDevice; return true; }
        if (v.SequenceEqual("NONE"u8)) { d = DmaDirection.None; return true; }
        // __print_symbolic prints an unknown value as a number.
        if (TryParseHex(v, out ulong x) && x <= 3) { d = (DmaDirection)x; return true; }
        d = default;
        return false;
    }

    internal static bool TryParseAttrs(ReadOnlySpan<byte> v, out DmaAttrs attrs)
    {
        attrs = DmaAttrs.None;
        while (!v.IsEmpty)
        {
            int bar = v.IndexOf((byte)'|');
            var name = bar < 0 ? v : v[..bar];
            v = bar < 0 ? default : v[(bar + 1)..];
            DmaAttrs a = AttrByName(name);
            if (a == DmaAttrs.None)
            {
                // __print_flags prints leftover bits as hex.
                if (name.StartsWith("0x"u8) && TryParseHex(name, out ulong bits)) a = (DmaAttrs)bits;
                else if (!name.IsEmpty && !IsEventName(name)) return false;
            }
            attrs |= a;
        }
        return true;
    }

    static DmaAttrs AttrByName(ReadOnlySpan<byte> n) => n switch
    {
        _ when n.SequenceEqual("WEAK_ORDERING"u8) => DmaAttrs.WeakOrdering,
        _ when n.SequenceEqual("WRITE_COMBINE"u8) => DmaAttrs.WriteCombine,
        _ when n.SequenceEqual("NO_KERNEL_MAPPING"u8) => DmaAttrs.NoKernelMapping,
        _ when n.SequenceEqual("SKIP_CPU_SYNC"u8) => DmaAttrs.SkipCpuSync,
        _ when n.SequenceEqual("FORCE_CONTIGUOUS"u8) => DmaAttrs.ForceContiguous,
        _ when n.SequenceEqual("ALLOC_SINGLE_PAGES"u8) => DmaAttrs.AllocSinglePages,
        _ when n.SequenceEqual("NO_WARN"u8) => DmaAttrs.NoWarn,
        _ when n.SequenceEqual("PRIVILEGED"u8) => DmaAttrs.Privileged,
        _ when n.SequenceEqual("MMIO"u8) => DmaAttrs.Mmio,
        _ when n.SequenceEqual("CACHELINES_OVERLAP"u8) => DmaAttrs.CachelinesOverlap,
        _ when n.SequenceEqual("REQUIRE_COHERENT"u8) => DmaAttrs.RequireCoherent,
        _ when n.SequenceEqual("CC_SHARED"u8) => DmaAttrs.CcShared,
        _ when n.SequenceEqual("ALLOC_CC_SHARED"u8) => DmaAttrs.AllocCcShared,
        _ when n.SequenceEqual("CPU_CACHE_CLEAN"u8) => DmaAttrs.CpuCacheClean,
        _ => DmaAttrs.None,
    };

    /// <summary>"{0x1,0x2}" (__print_array); an array cut short by the trace buffer (no closing brace) keeps what is whole.</summary>
    static bool TryParseArray(ReadOnlySpan<byte> v, ref ulong[] buf, out int count)
    {
        count = 0;
        if (v.IsEmpty || v[0] != (byte)'{') return false;
        v = v[1..];
        if (!v.IsEmpty && v[^1] == (byte)'}') v = v[..^1];
        else
        {
            // Cut mid-array: drop the possibly partial last element.
            int lastComma = v.LastIndexOf((byte)',');
            v = lastComma < 0 ? default : v[..lastComma];
        }
        while (!v.IsEmpty)
        {
            int comma = v.IndexOf((byte)',');
            var item = comma < 0 ? v : v[..comma];
            v = comma < 0 ? default : v[(comma + 1)..];
            if (!TryParseHex(item, out ulong x)) return false;
            if (count == buf.Length) Array.Resize(ref buf, buf.Length * 2);
            buf[count++] = x;
        }
        return true;
    }

    internal static bool TryParseHex(ReadOnlySpan<byte> v, out ulong x)
    {
        x = 0;
        if (v.Length > 2 && v[0] == (byte)'0' && (v[1] | 0x20) == (byte)'x') v = v[2..];
        if (v.IsEmpty || v.Length > 16) return false;
        foreach (byte b in v)
        {
            int d = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (d < 0) return false;
            x = (x << 4) | (uint)d;
        }
        return true;
    }

    static bool TryParseDec(ReadOnlySpan<byte> v, out ulong x)
    {
        x = 0;
        if (v.IsEmpty || v.Length > 20) return false;
        foreach (byte b in v)
        {
            if (!IsDigit(b)) return false;
            ulong nx = x * 10 + (ulong)(b - '0');
            if (nx / 10 != x) return false;
            x = nx;
        }
        return true;
    }

    static bool TryParseSigned(ReadOnlySpan<byte> v, out int x)
    {
        x = 0;
        bool neg = !v.IsEmpty && v[0] == (byte)'-';
        if (neg) v = v[1..];
        if (v.IsEmpty || v.Length > 10 || !TryParseDec(v, out ulong u) || u > int.MaxValue) return false;
        x = neg ? -(int)u : (int)u;
        return true;
    }

    static long LeadingDecimal(ReadOnlySpan<byte> s, out int digits)
    {
        long v = 0; digits = 0;
        while (digits < s.Length && digits < 18 && IsDigit(s[digits])) { v = v * 10 + (s[digits] - '0'); digits++; }
        return v;
    }

    static long ParseDecimalOr(ReadOnlySpan<byte> s, long fallback)
    {
        long v = LeadingDecimal(s, out int n);
        return n == s.Length && n > 0 ? v : fallback;
    }

    internal static ReadOnlySpan<byte> NextToken(ref ReadOnlySpan<byte> rest)
    {
        int i = 0;
        while (i < rest.Length && rest[i] == (byte)' ') i++;
        int len = rest[i..].IndexOf((byte)' ');
        int j = len < 0 ? rest.Length : i + len;
        var tok = rest[i..j];
        rest = rest[j..];
        return tok;
    }

    static bool IsDigit(byte b) => (uint)(b - '0') <= 9;
    static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s) => TrimEnd(TrimStart(s));
    static ReadOnlySpan<byte> TrimStart(ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && (s[i] == (byte)' ' || s[i] == (byte)'\t')) i++;
        return s[i..];
    }
    static ReadOnlySpan<byte> TrimEnd(ReadOnlySpan<byte> s)
    {
        int e = s.Length;
        while (e > 0 && (s[e - 1] == (byte)' ' || s[e - 1] == (byte)'\t' || s[e - 1] == (byte)'\r' || s[e - 1] == (byte)'\n')) e--;
        return s[..e];
    }
}
