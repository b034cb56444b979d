using System.Buffers.Binary;
using System.Text;

namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// Turns the binary records of a .dat file into <see cref="TraceRecord"/>s by the event formats the file carries:
/// each format is bound once to the record fields its field names stand for (<see cref="TraceFieldBinder"/>), then
/// every record of that event is read at the offsets and sizes its format gives, scalars sign-extended where the
/// format says signed, <c>__data_loc</c> strings and arrays taken from their location word. The header columns follow
/// tracefs (Linux: kernel/trace/trace_output.c): the task from the saved command lines ("&lt;idle&gt;" for pid 0,
/// "&lt;...&gt;" when not saved) and the latency flags column from common_flags and common_preempt_count
/// (trace_print_lat_fmt()). The <c>print</c> event (a trace_marker write) is named by the function its ip lies in,
/// as tracefs prints it: "tracing_mark_write".
/// </summary>
internal sealed class TraceCmdEventDecoder
{
    /// <summary>One event format, bound.</summary>
    sealed class Binding
    {
        public required TraceEventFormat Format;
        public TraceEventKind Kind;
        public string EventName = "";
        public int NameId = -1;
        public (TraceEventField Field, TraceFieldTarget Target)[] Fields = [];
        /// <summary>Why events of this format cannot be modelled (a field the kind needs is absent), or null.</summary>
        public string? Missing;
        public TraceEventField? Ip;
        public int FlagsOffset = -1, PreemptOffset = -1, PidOffset = -1, PidSize;
        public bool IsPrint;
        /// <summary>ftrace's print, bprint and bputs (trace_marker, trace_printk(), trace_puts()): tracefs names them by
        /// the function their ip lies in.</summary>
        public bool NamedByIp;
        /// <summary>The gfp flags' names from the format's __print_flags table.</summary>
        public PrintFlagsTable? Gfp;
        public readonly Dictionary<ulong, string> GfpText = new();
    }

    // TRACE_FLAG_* (Linux 6.12: include/linux/trace_events.h).
    const int IrqsOff = 0x01, IrqsNoSupport = 0x02, NeedResched = 0x04, HardIrq = 0x08, SoftIrq = 0x10,
        PreemptResched = 0x20, Nmi = 0x40, BhOff = 0x80;

    readonly TraceCmdFile _file;
    readonly TraceReadStats _stats;
    readonly NameTable _devices;
    readonly NameTable _strings;
    readonly bool _bigEndian;
    readonly Binding?[] _byId = new Binding?[ushort.MaxValue + 1];
    readonly string?[] _flags = new string?[ushort.MaxValue + 1];
    readonly Dictionary<int, string> _tasks = new();
    readonly Dictionary<(ulong, string), (string Name, int Id, TraceEventKind Kind)> _ipNames = new();
    readonly ulong[] _list = new ulong[TraceRecord.TraceMaxEntries];
    ulong[] _bigList = [];
    // The last few device names by their bytes: most events name one of a handful of devices.
    readonly byte[][] _devBytes = new byte[8][];
    readonly int[] _devIds = new int[8];
    int _devNext;
    readonly int _typeOffset, _typeSize;

    public TraceCmdEventDecoder(TraceCmdFile file, TraceReadStats stats, NameTable devices, NameTable strings)
    {
        _file = file;
        _stats = stats;
        _devices = devices;
        _strings = strings;
        _bigEndian = file.BigEndian;
        for (int i = 0; i < _devBytes.Length; i++) _devBytes[i] = [];
        // Every event starts with the same common fields (Linux: struct trace_entry): where the type lies is read
        // from the first format and holds for all.
        var first = file.Parse(file.Formats.Values.First());
        var t = first.Field("common_type");
        _typeOffset = t?.Offset ?? 0;
        _typeSize = t is { Size: 1 or 2 or 4 } ? t.Size : 2;
    }

    Binding? BindingOf(int type)
    {
        if ((uint)type > ushort.MaxValue) return null;
        if (_byId[type] is { } b) return b;
        return _file.Formats.TryGetValue(type, out var text) ? _byId[type] = Bind(_file.Parse(text)) : null;
    }

    Binding Bind(TraceEventFormat f)
    {
        var b = new Binding { Format = f };
        b.IsPrint = f.System == "ftrace" && f.Name == "print";
        b.NamedByIp = f.System == "ftrace" && f.Name is "print" or "bprint" or "bputs";
        b.Kind = b.IsPrint ? TraceEventKind.TracingMarkWrite : TraceEventNames.KindOf(f.Name);
        // ftrace's own events (function, print, bprint...) only count as ours when they are the marker.
        if (f.System == "ftrace" && !b.IsPrint) b.Kind = TraceEventKind.Unknown;
        if (b.Kind != TraceEventKind.Unknown && TraceEventNames.SystemOf(b.Kind) != f.System && !b.IsPrint) b.Kind = TraceEventKind.Unknown;
        b.EventName = f.Name;
        var list = new List<(TraceEventField, TraceFieldTarget)>();
        foreach (var field in f.Fields)
        {
            switch (field.Name)
            {
                case "common_flags": b.FlagsOffset = field.Offset; continue;
                case "common_preempt_count": b.PreemptOffset = field.Offset; continue;
                case "common_pid": b.PidOffset = field.Offset; b.PidSize = field.Size; continue;
                case "ip": b.Ip = field; continue;
            }
            if (field.Name.StartsWith("common_", StringComparison.Ordinal) || b.Kind == TraceEventKind.Unknown) continue;
            var target = TraceFieldBinder.TargetOf(b.Kind, field.Name);
            if (target == TraceFieldTarget.Gfp) b.Gfp = PrintFlagsTable.From(f.PrintFormat, field.Name);
            if (target != TraceFieldTarget.None) list.Add((field, target));
        }
        b.Fields = list.ToArray();
        if (b.Kind != TraceEventKind.Unknown)
        {
            ulong have = 0;
            foreach (var (_, t) in b.Fields) have |= TraceFieldBinder.Bit(t);
            var missing = TraceFieldBinder.Missing(b.Kind, have);
            if (missing is not null) b.Missing = $"{f.Name}: the event's format has no field for {missing}";
        }
        if (!b.NamedByIp) b.NameId = NameId(f.Name);
        return b;
    }

    int NameId(string name)
    {
        lock (_stats.EventNames) return _stats.EventNames.Intern(name);
    }

    /// <summary>
    /// Decodes the record <paramref name="data"/>[<paramref name="start"/>..+<paramref name="length"/>] of
    /// <paramref name="cpu"/> at <paramref name="ts"/> into <paramref name="r"/>. Returns the event's kind, counted in
    /// the stats, or null when the record cannot be read (counted as malformed with its reason, nothing filled).
    /// </summary>
    public TraceEventKind? Decode(byte[] data, int start, int length, int cpu, ulong ts, long ordinal, TraceRecord r)
    {
        var rec = data.AsSpan(start, length);
        if (length < _typeOffset + _typeSize) { Malformed(ordinal, $"record of {length} bytes has no event type"); return null; }
        int type = (int)ReadUnsigned(rec, _typeOffset, _typeSize);
        var b = BindingOf(type);
        if (b is null) { Malformed(ordinal, $"record of event type {type}, which the file has no format for"); return null; }

        r.Reset();
        r.Line = ordinal;
        r.Cpu = cpu;
        r.TimestampNs = ts;
        int pid = b.PidOffset >= 0 && b.PidOffset + b.PidSize <= length ? (int)ReadSigned(rec, b.PidOffset, b.PidSize) : 0;
        r.Pid = pid;
        r.Task = Task(pid);
        int fl = b.FlagsOffset >= 0 && b.FlagsOffset < length ? rec[b.FlagsOffset] : 0;
        int pc = b.PreemptOffset >= 0 && b.PreemptOffset < length ? rec[b.PreemptOffset] : 0;
        r.Flags = Flags(fl, pc);

        var kind = b.Kind;
        int nameId = b.NameId;
        r.EventName = b.EventName;
        if (b.NamedByIp)
        {
            ulong ip = b.Ip is { } ipf && ipf.Offset + ipf.Size <= length ? ReadUnsigned(rec, ipf.Offset, ipf.Size) : 0;
            (r.EventName, nameId, kind) = NameByIp(ip, b.IsPrint, b.EventName);
        }
        _stats.EventLines++;
        _stats.CountEvents(nameId, 1);
        if (kind == TraceEventKind.Unknown)
        {
            _stats.UnknownEventLines++;
            return kind;
        }
        if (b.Missing is not null) { Malformed(ordinal, b.Missing); return null; }
        foreach (var (f, target) in b.Fields)
        {
            if (!Field(b, rec, f, target, r, out var why)) { Malformed(ordinal, $"{b.EventName}: field {f.Name}: {why}"); return null; }
        }
        r.Kind = kind;
        return kind;
    }

    bool Field(Binding b, ReadOnlySpan<byte> rec, TraceEventField f, TraceFieldTarget target, TraceRecord r, out string? why)
    {
        why = null;
        int off = f.Offset, len = f.Size;
        if (f.DataLoc)
        {
            if (off + 4 > rec.Length) { why = "location word past the record's end"; return false; }
            uint loc = (uint)ReadUnsigned(rec, off, 4);
            int at = (int)(loc & 0xffff);
            len = (int)(loc >> 16);
            if (f.RelLoc) at += off + 4;
            off = at;
        }
        else if (f.FixedArray && len == 0) len = rec.Length - off; // "char buf[]": the rest of the record
        if (off < 0 || len < 0 || off + len > rec.Length) { why = $"{len} bytes at {off} run past the record's {rec.Length} bytes"; return false; }
        var bytes = rec.Slice(off, len);
        switch (target)
        {
            case TraceFieldTarget.Device:
                SetDevice(r, CString(bytes));
                return true;
            case TraceFieldTarget.Driver:
                r.Driver = Intern(_strings, CString(bytes));
                return true;
            case TraceFieldTarget.Message:
                r.Message = Encoding.UTF8.GetString(TrimEnd(CString(bytes)));
                return true;
            case TraceFieldTarget.Gfp:
            {
                if (len is not (1 or 2 or 4 or 8)) { why = $"scalar of {len} bytes"; return false; }
                ulong v = ReadUnsigned(bytes, 0, len);
                if (!b.GfpText.TryGetValue(v, out var text))
                    b.GfpText[v] = text = Intern(_strings, Encoding.UTF8.GetBytes(b.Gfp?.Format(v) ?? $"0x{v:x}"));
                r.Gfp = text;
                return true;
            }
            case TraceFieldTarget.PhysAddrs or TraceFieldTarget.DmaAddrs or TraceFieldTarget.Lengths:
            {
                int es = f.ElementSize;
                if (es is not (1 or 2 or 4 or 8)) { why = $"element size {es}"; return false; }
                int n = len / es;
                var dst = n <= _list.Length ? _list : (_bigList.Length >= n ? _bigList : _bigList = new ulong[n]);
                for (int i = 0; i < n; i++) dst[i] = ReadUnsigned(bytes, i * es, es);
                TraceFieldBinder.SetList(r, target, dst.AsSpan(0, n));
                return true;
            }
            default:
                if (len is not (1 or 2 or 4 or 8)) { why = $"scalar of {len} bytes"; return false; }
                TraceFieldBinder.SetScalar(r, target, f.Signed ? (ulong)ReadSigned(bytes, 0, len) : ReadUnsigned(bytes, 0, len));
                return true;
        }
    }

    void SetDevice(TraceRecord r, ReadOnlySpan<byte> name)
    {
        int id = -1;
        for (int i = 0; i < _devBytes.Length; i++)
            if (_devBytes[i].Length == name.Length && name.SequenceEqual(_devBytes[i]) && _devBytes[i].Length > 0) { id = _devIds[i]; break; }
        if (id < 0)
        {
            id = _devices.Intern(name);
            _devBytes[_devNext] = name.ToArray();
            _devIds[_devNext] = id;
            _devNext = (_devNext + 1) % _devBytes.Length;
        }
        r.DeviceId = id;
        r.Device = _devices[id];
    }

    static string Intern(NameTable t, ReadOnlySpan<byte> s) => t[t.Intern(s)];

    (string, int, TraceEventKind) NameByIp(ulong ip, bool print, string formatName)
    {
        var key = (ip, formatName);
        if (_ipNames.TryGetValue(key, out var p)) return p;
        // A file without kallsyms cannot name the function; a print event is then taken for a trace_marker write,
        // what writes print events in user captures.
        string name = _file.Symbols.Lookup(ip) ?? (print ? "tracing_mark_write" : formatName);
        var kind = print && name == "tracing_mark_write" ? TraceEventKind.TracingMarkWrite : TraceEventKind.Unknown;
        p = (name, NameId(name), kind);
        _ipNames[key] = p;
        return p;
    }

    string Task(int pid)
    {
        if (_tasks.TryGetValue(pid, out var t)) return t;
        t = pid == 0 ? "<idle>" : _file.Comms.TryGetValue(pid, out var comm) ? comm : "<...>";
        _tasks[pid] = t;
        return t;
    }

    string Flags(int flags, int preempt)
    {
        int key = (flags << 8) | preempt;
        return _flags[key] ??= FlagsText(flags, preempt);
    }

    /// <summary>The latency-format column tracefs prints (Linux 6.12: kernel/trace/trace_output.c, trace_print_lat_fmt()).</summary>
    internal static string FlagsText(int flags, int preempt)
    {
        bool bh = (flags & BhOff) != 0;
        char irqs = (flags & IrqsOff) != 0 && bh ? 'D' : (flags & IrqsOff) != 0 ? 'd' : bh ? 'b' : (flags & IrqsNoSupport) != 0 ? 'X' : '.';
        char resched = (flags & (NeedResched | PreemptResched)) switch
        {
            NeedResched | PreemptResched => 'N',
            NeedResched => 'n',
            PreemptResched => 'p',
            _ => '.',
        };
        bool nmi = (flags & Nmi) != 0, hard = (flags & HardIrq) != 0, soft = (flags & SoftIrq) != 0;
        char irq = nmi && hard ? 'Z' : nmi ? 'z' : hard && soft ? 'H' : hard ? 'h' : soft ? 's' : '.';
        char depth = (preempt & 0xf) != 0 ? "0123456789abcdef"[preempt & 0xf] : '.';
        char migrate = ((preempt >> 4) & 0xf) != 0 ? "0123456789abcdef"[(preempt >> 4) & 0xf] : '.';
        return new string([irqs, resched, irq, depth, migrate]);
    }

    void Malformed(long ordinal, string reason)
    {
        _stats.MalformedLines++;
        if (_stats.Malformed.Count < TraceReadStats.MaxListed) _stats.Malformed.Add(new MalformedLine(ordinal, reason, ""));
    }

    static ReadOnlySpan<byte> CString(ReadOnlySpan<byte> b)
    {
        int nul = b.IndexOf((byte)0);
        return nul < 0 ? b : b[..nul];
    }

    static ReadOnlySpan<byte> TrimEnd(ReadOnlySpan<byte> s)
    {
        int e = s.Length;
        while (e > 0 && s[e - 1] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') e--;
        return s[..e];
    }

    ulong ReadUnsigned(ReadOnlySpan<byte> s, int at, int size) => size switch
    {
        1 => s[at],
        2 => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s[at..]) : BinaryPrimitives.ReadUInt16LittleEndian(s[at..]),
        4 => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s[at..]) : BinaryPrimitives.ReadUInt32LittleEndian(s[at..]),
        8 => _bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s[at..]) : BinaryPrimitives.ReadUInt64LittleEndian(s[at..]),
        _ => 0,
    };

    long ReadSigned(ReadOnlySpan<byte> s, int at, int size) => size switch
    {
        1 => (sbyte)s[at],
        2 => (short)ReadUnsigned(s, at, 2),
        4 => (int)ReadUnsigned(s, at, 4),
        8 => (long)ReadUnsigned(s, at, 8),
        _ => 0,
    };
}
