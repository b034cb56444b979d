using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// The metadata of a trace-cmd .dat file, file versions 6 and 7, read from the file-format documentation
/// (trace-cmd.dat.v6(5), trace-cmd.dat.v7(5)): the initial header (magic, version, byte order, long size, page size;
/// v7: compression algorithm), the header_page and header_event descriptions, the ftrace and event format files,
/// kallsyms, printk formats, saved command lines, options (CPU count, trace clock, time offset, TSC conversion) and
/// where each CPU's ring-buffer data lies (v6: the flyrecord table; v7: the top instance's BUFFER option). v7 sections
/// may be compressed (zstd, zlib) and are decompressed one at a time. Everything is bounds-checked against the file:
/// a cut or corrupt file throws a one-line <see cref="TraceFormatException"/> with the byte offset and what was
/// expected there.
/// </summary>
internal sealed class TraceCmdFile
{
    internal static readonly byte[] Magic = [0x17, 0x08, 0x44, (byte)'t', (byte)'r', (byte)'a', (byte)'c', (byte)'i', (byte)'n', (byte)'g'];

    /// <summary>Largest decompressed section or chunk we accept (a kallsyms of a large kernel is ~15 MB).</summary>
    internal const int MaxBlockBytes = 256 << 20;

    // v7 option ids (trace-cmd.dat.v7(5), OPTIONS SECTION); v6 files use the same numbers for the ones they have.
    const ushort OptDone = 0, OptBuffer = 3, OptTraceClock = 4, OptOffset = 7, OptCpuCount = 8, OptTsc2Nsec = 14,
        OptHeaderInfo = 16, OptFtraceEvents = 17, OptEventFormats = 18, OptKallsyms = 19, OptPrintk = 20, OptCmdlines = 21,
        OptBufferText = 22;
    // v7 section ids.
    const ushort SecOptions = 0, SecHeaderInfo = 16, SecFtraceEvents = 17, SecEventFormats = 18, SecKallsyms = 19,
        SecPrintk = 20, SecCmdlines = 21;

    readonly Stream _file;
    readonly string _source;

    public int Version { get; private set; }
    public bool BigEndian { get; private set; }
    /// <summary>The tracing machine's user-space long size (the header's byte); the kernel's is <see cref="KernelLongSize"/>.</summary>
    public int UserLongSize { get; private set; }
    public int PageSize { get; private set; }
    public string Compression { get; private set; } = "none";
    public string CompressionVersion { get; private set; } = "";
    /// <summary>The kernel's long size: the size of the header page's commit field (trace-cmd.dat(5), HEADER INFO).</summary>
    public int KernelLongSize { get; private set; } = 8;
    public int PageTimestampOffset { get; private set; }
    public int PageCommitOffset { get; private set; } = 8;
    public int PageDataOffset { get; private set; } = 16;
    public string HeaderEvent { get; private set; } = "";
    public Dictionary<int, TraceCmdFormatText> Formats { get; } = new();
    public KernelSymbols Symbols { get; private set; } = KernelSymbols.Empty;
    public Dictionary<int, string> Comms { get; } = new();
    public List<TraceCmdCpuData> Cpus { get; } = new();
    /// <summary>Per-CPU data is a sequence of compressed chunks (v7 with compression).</summary>
    public bool CpuDataCompressed { get; private set; }
    /// <summary>CPUs of the traced machine (v6 header / v7 CPUCOUNT option), -1 when the file does not say.</summary>
    public int CpuCount { get; private set; } = -1;
    public string Clock { get; private set; } = "";
    /// <summary>The OFFSET option: added to every timestamp.</summary>
    public long TimestampOffset { get; private set; }
    /// <summary>The TSC2NSEC option (multiplier, shift, offset): converts counter timestamps to nanoseconds.</summary>
    public (uint Mult, uint Shift, ulong Offset)? Tsc2Nsec { get; private set; }
    public long FileLength { get; }
    /// <summary>What was read but not used (other trace instances), for the report.</summary>
    public List<string> Notes { get; } = new();
    internal TraceCmdCompression? Decoder { get; private set; }
    /// <summary>File offsets where the parts of the file begin (header fields, sections, options, CPU data), in the
    /// order they were read: for tests that cut the file at every boundary.</summary>
    internal List<long> Landmarks { get; } = new();

    TraceCmdFile(Stream file, string source)
    {
        _file = file;
        _source = source;
        FileLength = file.Length;
    }

    public static TraceCmdFile Read(Stream seekable, string source)
    {
        var f = new TraceCmdFile(seekable, source);
        f.ReadAll();
        return f;
    }

    TraceFormatException Error(long offset, string what) => new(_source, 0, offset, what);

    void ReadAll()
    {
        _file.Position = 0;
        var c = DatCursor.Sequential(_source, _file, FileLength, false, "trace-cmd header");
        var magic = c.Bytes(Magic.Length, "the trace-cmd magic");
        if (!magic.SequenceEqual(Magic)) throw Error(0, "expected the trace-cmd magic \\x17\\x08\\x44tracing");
        long at = c.Offset;
        var ver = c.CString("the file version");
        if (!int.TryParse(ver, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v is < 6 or > 7)
            throw Error(at, $"trace-cmd file version \"{Cut(ver)}\": expected 6 or 7");
        Version = v;
        at = c.Offset;
        byte endian = c.Bytes(1, "the byte-order flag")[0];
        if (endian > 1) throw Error(at, $"byte-order flag {endian}: expected 0 (little endian) or 1 (big endian)");
        BigEndian = endian == 1;
        c.BigEndian = BigEndian;
        at = c.Offset;
        UserLongSize = c.Bytes(1, "the long size")[0];
        if (UserLongSize is not (4 or 8)) throw Error(at, $"long size {UserLongSize}: expected 4 or 8");
        at = c.Offset;
        uint page = c.U32("the page size");
        if (page < 256 || page > (1u << 24) || (page & (page - 1)) != 0) throw Error(at, $"page size {page}: expected a power of two from 256 bytes to 16 MiB");
        PageSize = (int)page;
        if (Version == 6) ReadV6(c);
        else ReadV7(c);
        if (Formats.Count == 0) throw Error(FileLength, "no event formats in the file: expected the EVENT FORMATS part");
    }

    // ---- version 6: everything in sequence ---------------------------------------------------------------------

    void ReadV6(DatCursor c)
    {
        Landmarks.Add(c.Offset);
        ReadHeaderInfo(c);
        Landmarks.Add(c.Offset);
        ReadFtraceFormats(c);
        Landmarks.Add(c.Offset);
        ReadEventFormats(c);
        Landmarks.Add(c.Offset);
        c.Block = "kallsyms";
        ReadKallsyms(c, c.Size32("kallsyms size", c.Left - 4));
        Landmarks.Add(c.Offset);
        c.Block = "printk formats";
        ReadPrintk(c, c.Size32("printk formats size", c.Left - 4));
        Landmarks.Add(c.Offset);
        c.Block = "saved command lines";
        ReadCmdlines(c, c.Size64("saved command lines size", c.Left - 8));
        Landmarks.Add(c.Offset);
        c.Block = "trace-cmd header";
        long at = c.Offset;
        uint cpus = c.U32("the CPU count");
        if (cpus > 65536) throw Error(at, $"CPU count {cpus}: expected at most 65536");
        CpuCount = (int)cpus;
        at = c.Offset;
        var kind = c.CStringOrNull();
        if (kind == "options  ")
        {
            c.Block = "options";
            while (true)
            {
                Landmarks.Add(c.Offset);
                ushort id = c.U16("an option id");
                if (id == 0) break;
                int size = c.Size32("option size", c.Left - 4);
                long optAt = c.Offset;
                var data = c.Bytes(size, "option data").ToArray();
                Option(id, new DatCursor(_source, data, data.Length, optAt, BigEndian, $"option {id}"));
            }
            c.Block = "trace-cmd header";
            at = c.Offset;
            kind = c.CStringOrNull();
        }
        if (kind == "latency  ")
            throw Error(at, "this .dat holds a latency tracer's text, not ring-buffer data; read it with `trace-cmd report`");
        if (kind != "flyrecord") throw Error(at, $"expected \"flyrecord\", \"latency\" or \"options\", found {(kind is null ? "nothing" : $"\"{Cut(kind)}\"")}");
        c.Block = "flyrecord";
        Landmarks.Add(c.Offset);
        for (int i = 0; i < CpuCount; i++)
        {
            at = c.Offset;
            ulong off = c.U64($"CPU {i} data offset");
            ulong size = c.U64($"CPU {i} data size");
            AddCpu(i, off, size, at);
        }
    }

    // ---- version 7: sections found through options -------------------------------------------------------------

    void ReadV7(DatCursor c)
    {
        Compression = c.CString("the compression algorithm name");
        CompressionVersion = c.CString("the compression algorithm version");
        if (Compression != "none")
        {
            Decoder = TraceCmdCompression.For(Compression) ??
                throw Error(c.Offset, $"compression \"{Cut(Compression)}\" is not supported: expected zstd, zlib or none");
        }
        long at = c.Offset;
        ulong first = c.U64("the offset of the first options section");
        long sectionsAt = first <= (ulong)FileLength ? (long)first : throw Error(at, $"options offset {first} is past the end of the file ({FileLength} bytes)");

        var offsets = new Dictionary<ushort, (long Offset, long At)>();
        var buffers = new List<(DatCursor Data, long At)>();
        var seen = new HashSet<long>();
        long next = sectionsAt;
        while (next != 0)
        {
            if (!seen.Add(next)) throw Error(next, "options sections form a loop: expected the DONE option to end the chain");
            var s = Section(next, SecOptions, "options section");
            next = 0;
            while (!s.AtEnd)
            {
                Landmarks.Add(s.Offset);
                ushort id = s.U16("an option id");
                int size = s.Size32("option size", s.Left - 4);
                long optAt = s.Offset;
                var data = s.Bytes(size, "option data").ToArray();
                var o = new DatCursor(_source, data, data.Length, optAt, BigEndian, $"option {id}");
                if (id == OptDone)
                {
                    ulong n = o.U64("the next options offset");
                    if (n > (ulong)FileLength) throw Error(optAt, $"next options offset {n} is past the end of the file");
                    next = (long)n;
                    break;
                }
                switch (id)
                {
                    case OptHeaderInfo or OptFtraceEvents or OptEventFormats or OptKallsyms or OptPrintk or OptCmdlines:
                        ulong off = o.U64("a section offset");
                        if (off > (ulong)FileLength) throw Error(optAt, $"section offset {off} is past the end of the file");
                        offsets[id] = ((long)off, optAt);
                        break;
                    case OptBuffer: buffers.Add((o, optAt)); break;
                    case OptBufferText:
                        throw Error(optAt, "this .dat holds a latency tracer's text, not ring-buffer data; read it with `trace-cmd report`");
                    default: Option(id, o); break;
                }
            }
        }

        if (!offsets.TryGetValue(OptHeaderInfo, out var hi)) throw Error(sectionsAt, "no HEADER_INFO option: expected the header_page/header_event section");
        ReadHeaderInfo(Section(hi.Offset, SecHeaderInfo, "header info section"));
        if (offsets.TryGetValue(OptFtraceEvents, out var fe)) ReadFtraceFormats(Section(fe.Offset, SecFtraceEvents, "ftrace event formats section"));
        if (!offsets.TryGetValue(OptEventFormats, out var ef)) throw Error(sectionsAt, "no EVENT_FORMATS option: expected the event formats section");
        ReadEventFormats(Section(ef.Offset, SecEventFormats, "event formats section"));
        if (offsets.TryGetValue(OptKallsyms, out var ks))
        {
            var k = Section(ks.Offset, SecKallsyms, "kallsyms section");
            ReadKallsyms(k, k.Size32("kallsyms size", k.Left - 4));
        }
        if (offsets.TryGetValue(OptPrintk, out var pk))
        {
            var p = Section(pk.Offset, SecPrintk, "printk formats section");
            ReadPrintk(p, p.Size32("printk formats size", p.Left - 4));
        }
        if (offsets.TryGetValue(OptCmdlines, out var cl))
        {
            var p = Section(cl.Offset, SecCmdlines, "saved command lines section");
            ReadCmdlines(p, p.Size64("saved command lines size", p.Left - 8));
        }

        bool top = false;
        foreach (var (o, optAt) in buffers)
        {
            ulong off = o.U64("the buffer section offset");
            string name = o.CString("the instance name");
            string clock = o.CString("the trace clock");
            if (name.Length != 0) { Notes.Add($"trace instance \"{name}\" not read (only the top instance is replayed)"); continue; }
            if (top) throw Error(optAt, "two BUFFER options for the top instance: expected one");
            top = true;
            if (clock.Length != 0) Clock = clock;
            if (off > (ulong)FileLength) throw Error(optAt, $"buffer section offset {off} is past the end of the file");
            var (_, flags) = SectionHeader((long)off, "flyrecord buffer section");
            CpuDataCompressed = (flags & 1) != 0;
            if (CpuDataCompressed && Decoder is null) throw Error((long)off, "compressed buffer section in a file that names no compression");
            // trace-cmd 3.x writes the buffer's sub-buffer (page) size before the CPU count, which the man page
            // does not show: tell the two forms apart by which one the remaining bytes fit.
            long rest = o.Length - o.Position;
            if (rest >= 8 && (rest - 8) % 20 == 0 && PeekU32(o, 4) == (rest - 8) / 20)
            {
                long psAt = o.Offset;
                uint ps = o.U32("the buffer's page size");
                if (ps < 256 || ps > (1u << 24) || (ps & (ps - 1)) != 0) throw Error(psAt, $"buffer page size {ps}: expected a power of two from 256 bytes to 16 MiB");
                PageSize = (int)ps;
            }
            long at2 = o.Offset;
            uint n = o.U32("the buffer's CPU count");
            if (n > 65536) throw Error(at2, $"buffer CPU count {n}: expected at most 65536");
            for (int i = 0; i < n; i++)
            {
                at2 = o.Offset;
                uint cpu = o.U32("a CPU id");
                ulong coff = o.U64($"CPU {cpu} data offset");
                ulong csize = o.U64($"CPU {cpu} data size");
                if (cpu > 65535) throw Error(at2, $"CPU id {cpu}: expected at most 65535");
                AddCpu((int)cpu, coff, csize, at2);
            }
        }
        if (!top) throw Error(sectionsAt, "no BUFFER option for the top instance: expected the flyrecord data");
        if (CpuCount < 0) CpuCount = Cpus.Count == 0 ? 0 : Cpus.Max(x => x.Cpu) + 1;
    }

    static uint PeekU32(DatCursor o, int skip)
    {
        int save = o.Position;
        o.Position += skip;
        uint v = o.U32("a count");
        o.Position = save;
        return v;
    }

    void AddCpu(int cpu, ulong off, ulong size, long at)
    {
        if (off > (ulong)FileLength || size > (ulong)FileLength - off)
            throw Error(at, $"CPU {cpu} data at offset {off}, {size} bytes, runs past the end of the file ({FileLength} bytes)");
        if (size > 0) Cpus.Add(new TraceCmdCpuData(cpu, (long)off, (long)size));
        Landmarks.Add((long)off);
    }

    /// <summary>A v7 section header: id (16 bits), flags (16), description string id (32), size (64 bits in the files
    /// trace-cmd 3.x writes, though trace-cmd.dat.v7(5) says 4 bytes).</summary>
    const int SectionHeaderBytes = 16;

    (ushort Id, ushort Flags) SectionHeader(long offset, string what)
    {
        var h = ReadAt(offset, SectionHeaderBytes, what + " header");
        ushort id = BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(h) : BinaryPrimitives.ReadUInt16LittleEndian(h);
        ushort flags = BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(2)) : BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(2));
        return (id, flags);
    }

    /// <summary>The content of the v7 section at <paramref name="offset"/>, decompressed when its flag says so.</summary>
    DatCursor Section(long offset, ushort expectedId, string what)
    {
        Landmarks.Add(offset);
        var h = new DatCursor(_source, ReadAt(offset, SectionHeaderBytes, what + " header"), SectionHeaderBytes, offset, BigEndian, what);
        ushort id = h.U16("the section id");
        ushort flags = h.U16("the section flags");
        h.U32("the section description");
        long sizeAt = h.Offset;
        ulong size = h.U64("the section size");
        if (id != expectedId) throw Error(offset, $"{what}: section id {id}, expected {expectedId}");
        long start = offset + SectionHeaderBytes;
        if (size > (ulong)(FileLength - start)) throw Error(sizeAt, $"{what}: size {size} runs past the end of the file ({FileLength - start} bytes left)");
        if (size > MaxBlockBytes) throw Error(sizeAt, $"{what}: size {size} is over the {MaxBlockBytes >> 20} MiB limit");
        if ((flags & 1) == 0) return new DatCursor(_source, ReadAt(start, (int)size, what), (int)size, start, BigEndian, what);
        if (Decoder is null) throw Error(offset, $"{what}: compressed section in a file that names no compression");
        var raw = ReadAt(start, (int)size, what);
        var ch = new DatCursor(_source, raw, raw.Length, start, BigEndian, what);
        int csize = ch.Size32("the compressed size", raw.Length - 8);
        long usizeAt = ch.Offset;
        uint usize = ch.U32("the uncompressed size");
        if (usize > MaxBlockBytes) throw Error(usizeAt, $"{what}: uncompressed size {usize} is over the {MaxBlockBytes >> 20} MiB limit");
        var data = new byte[usize];
        try { Decoder.Decompress(raw.AsSpan(8, csize), data); }
        catch (InvalidDataException ex) { throw Error(start + 8, $"{what}: {ex.Message}"); }
        return new DatCursor(_source, data, data.Length, offset, BigEndian, what + " (decompressed)");
    }

    internal byte[] ReadAt(long offset, int count, string what)
    {
        if (offset < 0 || count < 0 || offset + count > FileLength)
            throw Error(offset, $"cut: expected {what} ({count} bytes) at offset {offset}, the file has {FileLength} bytes");
        var buf = new byte[count];
        _file.Position = offset;
        _file.ReadExactly(buf);
        return buf;
    }

    // ---- the parts both versions share -------------------------------------------------------------------------

    void ReadHeaderInfo(DatCursor c)
    {
        c.Block = "header info";
        c.Expect("header_page");
        int n = c.Size64("header_page size", c.Left - 8);
        long at = c.Offset;
        var page = Encoding.UTF8.GetString(c.Bytes(n, "the header_page text"));
        IReadOnlyList<TraceEventField> fields;
        try { fields = TraceEventFormat.ParseFields(page, 8); }
        catch (FormatException ex) { throw Error(at, $"header_page: {ex.Message}"); }
        var ts = fields.FirstOrDefault(f => f.Name == "timestamp");
        var commit = fields.FirstOrDefault(f => f.Name == "commit");
        var data = fields.FirstOrDefault(f => f.Name == "data");
        if (ts is null || commit is null || data is null) throw Error(at, "header_page: expected the timestamp, commit and data fields");
        if (ts.Size != 8 || commit.Size is not (4 or 8) || data.Offset < commit.Offset + commit.Size || data.Offset >= PageSize)
            throw Error(at, $"header_page: unexpected layout (timestamp {ts.Size} bytes, commit {commit.Size} bytes at {commit.Offset}, data at {data.Offset})");
        KernelLongSize = commit.Size;
        PageTimestampOffset = ts.Offset;
        PageCommitOffset = commit.Offset;
        PageDataOffset = data.Offset;
        c.Expect("header_event");
        n = c.Size64("header_event size", c.Left - 8);
        HeaderEvent = Encoding.UTF8.GetString(c.Bytes(n, "the header_event text"));
    }

    void ReadFtraceFormats(DatCursor c)
    {
        c.Block = "ftrace event formats";
        uint count = c.U32("the ftrace format count");
        if (count > c.Left / 8) throw c.Error($"ftrace format count {count} is more than the bytes that follow can hold");
        for (uint i = 0; i < count; i++) AddFormat(c, "ftrace");
    }

    void ReadEventFormats(DatCursor c)
    {
        c.Block = "event formats";
        uint systems = c.U32("the event system count");
        if (systems > c.Left / 5) throw c.Error($"event system count {systems} is more than the bytes that follow can hold");
        for (uint s = 0; s < systems; s++)
        {
            string system = c.CString("a system name");
            uint count = c.U32($"the event count of {system}");
            if (count > c.Left / 8) throw c.Error($"event count {count} of {system} is more than the bytes that follow can hold");
            for (uint i = 0; i < count; i++) AddFormat(c, system);
        }
    }

    void AddFormat(DatCursor c, string system)
    {
        int n = c.Size64("a format size", c.Left - 8);
        long at = c.Offset;
        var text = Encoding.UTF8.GetString(c.Bytes(n, "a format text"));
        string? name = Header(text, "name:");
        string? idText = Header(text, "ID:");
        if (string.IsNullOrEmpty(name)) throw Error(at, $"{c.Block}: expected a 'name:' line in an event format");
        if (!int.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id > ushort.MaxValue)
            throw Error(at, $"{c.Block}: expected an 'ID:' line with a 16-bit id in the format of {Cut(name)}");
        Formats[id] = new TraceCmdFormatText(system, id, name, text, at);
    }

    /// <summary>The value of a "KEY VALUE" line of a format text (only lines before "format:").</summary>
    static string? Header(string text, string key)
    {
        int at = text.StartsWith(key, StringComparison.Ordinal) ? 0 : text.IndexOf("\n" + key, StringComparison.Ordinal) + 1;
        if (at <= 0 && !text.StartsWith(key, StringComparison.Ordinal)) return null;
        int end = text.IndexOf('\n', at);
        return text[(at + key.Length)..(end < 0 ? text.Length : end)].Trim();
    }

    /// <summary>The fields and print format of a format text; a text that cannot be read is a corrupt file.</summary>
    public TraceEventFormat Parse(TraceCmdFormatText f)
    {
        try { return TraceEventFormat.Parse(f.System, f.Text, KernelLongSize); }
        catch (FormatException ex) { throw Error(f.Offset, $"event format of {f.System}:{Cut(f.Name)}: {ex.Message}"); }
    }

    void ReadKallsyms(DatCursor c, int size) => Symbols = new KernelSymbols(c.Bytes(size, "the kallsyms text").ToArray());

    /// <summary>printk_formats (the format strings of trace_printk() call sites, for bprint events' fmt pointers):
    /// no event the replay models points into it, so it is bounds-checked and skipped.</summary>
    static void ReadPrintk(DatCursor c, int size) => c.Bytes(size, "the printk formats text");

    void ReadCmdlines(DatCursor c, int size)
    {
        // "PID COMM" lines (Linux: kernel/trace/trace.c, saved_cmdlines_show()).
        var text = Encoding.UTF8.GetString(c.Bytes(size, "the saved command lines text"));
        foreach (var line in text.Split('\n'))
        {
            int sp = line.IndexOf(' ');
            if (sp <= 0) continue;
            if (int.TryParse(line.AsSpan(0, sp), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                Comms[pid] = line[(sp + 1)..].TrimEnd('\r');
        }
    }

    void Option(ushort id, DatCursor o)
    {
        switch (id)
        {
            case OptTraceClock:
            {
                // The trace_clock file: "local [global] counter ..." with the one in use in brackets.
                var s = o.CStringOrNull() ?? "";
                int lb = s.IndexOf('['), rb = s.IndexOf(']');
                Clock = lb >= 0 && rb > lb ? s[(lb + 1)..rb] : s.Trim();
                break;
            }
            case OptOffset:
            {
                var s = (o.CStringOrNull() ?? "").Trim();
                if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long off)) TimestampOffset = off;
                break;
            }
            case OptCpuCount:
                CpuCount = (int)Math.Min(65536, o.U32("the CPU count"));
                break;
            case OptTsc2Nsec:
            {
                uint mult = o.U32("the TSC multiplier");
                uint shift = o.U32("the TSC shift");
                ulong off = o.U64("the TSC offset");
                if (shift < 64 && mult != 0) Tsc2Nsec = (mult, shift, off);
                break;
            }
            case OptBuffer when Version == 6:
                Notes.Add("a second trace instance (BUFFER option) not read (only the top instance is replayed)");
                break;
        }
    }

    static string Cut(string s) => s.Length <= 24 ? s : s[..24] + "...";
}
