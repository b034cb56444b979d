using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace DmaLab.Tests.Trace.TraceCmd;

/// <summary>
/// Writes small trace-cmd .dat files by the file-format documentation (trace-cmd.dat.v6(5), .v7(5), with the 64-bit
/// section sizes and the BUFFER option's page size that trace-cmd 3.x writes) and ring-buffer pages by the kernel's
/// layout (kernel/trace/ring_buffer.c), for tests of what the real captures do not show: signed and __rel_loc fields,
/// time extends, absolute timestamps, padding, lost events, several CPUs, zlib chunks.
/// </summary>
internal sealed class DatBuilder
{
    public const int PageSize = 4096;
    public const string HeaderPage =
        "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n" +
        "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";
    public const string HeaderEvent = "# compressed entry header\n\ttype_len    :    5 bits\n\ttime_delta  :   27 bits\n\tarray       :   32 bits\n";

    const string Common =
        "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n" +
        "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

    public static string Format(string name, int id, string fields, string print = "\"\"") =>
        $"name: {name}\nID: {id}\nformat:\n{Common}{fields}\nprint fmt: {print}\n";

    /// <summary>dma_map_page of Linux 6.12 (id 381) and iommu map (1265), print (5) as ftrace has them.</summary>
    public static readonly string MapPage = Format("dma_map_page", 381,
        "\tfield:__data_loc char[] device;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:u64 phys_addr;\toffset:16;\tsize:8;\tsigned:0;\n" +
        "\tfield:u64 dma_addr;\toffset:24;\tsize:8;\tsigned:0;\n\tfield:size_t size;\toffset:32;\tsize:8;\tsigned:0;\n" +
        "\tfield:enum dma_data_direction dir;\toffset:40;\tsize:4;\tsigned:0;\n\tfield:unsigned long attrs;\toffset:48;\tsize:8;\tsigned:0;\n");
    public static readonly string Print = Format("print", 5,
        "\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:char buf[];\toffset:16;\tsize:0;\tsigned:1;\n");

    public readonly List<(string System, string Text)> Formats = [("dma", MapPage)];
    public readonly List<string> FtraceFormats = [Print];
    public string Kallsyms = "ffffffff81000000 T _stext\nffffffff812a0000 T tracing_mark_write\nffffffff812a0400 t next_fn\n";
    public string Cmdlines = "100 drv\n200 irq/24-nvme\n";
    /// <summary>A second trace instance named in a BUFFER option of a v7 file (no data of its own).</summary>
    public string? ExtraInstance;
    /// <summary>Pages per CPU.</summary>
    public readonly List<List<byte[]>> Cpus = [];

    /// <summary>A dma_map_page record (56 bytes).</summary>
    public static byte[] MapPageRecord(int pid, string device, ulong phys, ulong dma, ulong size, int dir = 2, byte flags = 0, byte preempt = 0)
    {
        var dev = Encoding.ASCII.GetBytes(device + "\0");
        var r = new byte[56 + dev.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(r, 381);
        r[2] = flags; r[3] = preempt;
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(4), pid);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(8), (uint)((dev.Length << 16) | 56));
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(16), phys);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(24), dma);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(32), size);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(40), (uint)dir);
        dev.CopyTo(r, 56);
        return r;
    }

    public static byte[] PrintRecord(int pid, ulong ip, string text)
    {
        var t = Encoding.UTF8.GetBytes(text + "\n\0");
        var r = new byte[16 + t.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(r, 5);
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(4), pid);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(8), ip);
        t.CopyTo(r, 16);
        return r;
    }

    /// <summary>One ring-buffer page: a base timestamp, then events written with <see cref="Page"/>'s methods.</summary>
    public sealed class Page(ulong timestamp, bool bigEndian = false)
    {
        readonly MemoryStream _data = new();
        public long Lost;      // > 0: RB_MISSED_EVENTS with the count stored; -1: missed, count not stored
        public int? CommitOverride;

        void U32(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            _data.Write(b);
        }

        uint Header(int typeLen, uint delta) => bigEndian ? ((uint)typeLen << 27) | (delta & 0x7ffffff) : (uint)typeLen | (delta << 5);

        /// <summary>A data event: type_len = words when it fits 28 words, else type_len 0 with the length word.</summary>
        public Page Event(uint delta, byte[] payload, bool forceLong = false)
        {
            int padded = (payload.Length + 3) & ~3;
            if (padded <= 28 * 4 && !forceLong)
                U32(Header(padded / 4, delta));
            else
            {
                U32(Header(0, delta));
                U32((uint)padded + 4);
            }
            _data.Write(payload);
            for (int i = payload.Length; i < padded; i++) _data.WriteByte(0);
            return this;
        }

        public Page Extend(ulong delta)
        {
            U32(Header(30, (uint)(delta & 0x7ffffff)));
            U32((uint)(delta >> 27));
            return this;
        }

        public Page Absolute(ulong ts)
        {
            U32(Header(31, (uint)(ts & 0x7ffffff)));
            U32((uint)(ts >> 27));
            return this;
        }

        /// <summary>A discarded event (padding with a delta) of <paramref name="bytes"/> after its length word.</summary>
        public Page Discarded(uint delta, int bytes)
        {
            U32(Header(29, delta));
            U32((uint)bytes);
            _data.Write(new byte[bytes - 4 >= 0 ? bytes - 4 : 0]);
            return this;
        }

        /// <summary>The null padding event: the rest of the page is empty.</summary>
        public Page EndPadding()
        {
            U32(Header(29, 0));
            return this;
        }

        public byte[] Bytes()
        {
            var page = new byte[PageSize];
            var data = _data.ToArray();
            data.CopyTo(page, 16);
            ulong commit = (ulong)(CommitOverride ?? data.Length);
            if (Lost != 0)
            {
                commit |= 1UL << 31;
                if (Lost > 0)
                {
                    commit |= 1UL << 30;
                    BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(16 + data.Length), (ulong)Lost);
                }
            }
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt64BigEndian(page, timestamp);
                BinaryPrimitives.WriteUInt64BigEndian(page.AsSpan(8), commit);
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(page, timestamp);
                BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(8), commit);
            }
            return page;
        }
    }

    // ---- file writers ---------------------------------------------------------------------------------------

    sealed class Out
    {
        public readonly MemoryStream S = new();
        public void U8(byte v) => S.WriteByte(v);
        public void U16(ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); S.Write(b); }
        public void U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); S.Write(b); }
        public void U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); S.Write(b); }
        public void Str(string s) { S.Write(Encoding.UTF8.GetBytes(s)); U8(0); }
        public void Raw(byte[] b) => S.Write(b);
        public long Pos => S.Position;
        public void Align(int a) { while (S.Position % a != 0) U8(0); }
        public void Patch64(long at, ulong v) { var p = S.Position; S.Position = at; U64(v); S.Position = p; }
    }

    void Start(Out o, string version)
    {
        o.Raw([0x17, 0x08, 0x44]);
        o.Raw(Encoding.ASCII.GetBytes("tracing"));
        o.Str(version);
        o.U8(0);
        o.U8(8);
        o.U32(PageSize);
    }

    void HeaderInfo(Out o)
    {
        o.Str("header_page"); o.U64((ulong)HeaderPage.Length); o.Raw(Encoding.ASCII.GetBytes(HeaderPage));
        o.Str("header_event"); o.U64((ulong)HeaderEvent.Length); o.Raw(Encoding.ASCII.GetBytes(HeaderEvent));
    }

    void FormatsPart(Out o, bool ftrace)
    {
        if (ftrace)
        {
            o.U32((uint)FtraceFormats.Count);
            foreach (var f in FtraceFormats) { o.U64((ulong)f.Length); o.Raw(Encoding.ASCII.GetBytes(f)); }
            return;
        }
        var systems = Formats.GroupBy(f => f.System).ToList();
        o.U32((uint)systems.Count);
        foreach (var g in systems)
        {
            o.Str(g.Key);
            o.U32((uint)g.Count());
            foreach (var (_, t) in g) { o.U64((ulong)t.Length); o.Raw(Encoding.ASCII.GetBytes(t)); }
        }
    }

    public byte[] V6()
    {
        var o = new Out();
        Start(o, "6");
        HeaderInfo(o);
        FormatsPart(o, ftrace: true);
        FormatsPart(o, ftrace: false);
        o.U32((uint)Kallsyms.Length); o.Raw(Encoding.ASCII.GetBytes(Kallsyms));
        o.U32(0);
        o.U64((ulong)Cmdlines.Length); o.Raw(Encoding.ASCII.GetBytes(Cmdlines));
        o.U32((uint)Cpus.Count);
        o.Raw(Encoding.ASCII.GetBytes("options  \0"));
        o.U16(8); o.U32(4); o.U32((uint)Cpus.Count);
        o.U16(0);
        o.Raw(Encoding.ASCII.GetBytes("flyrecord\0"));
        long table = o.Pos;
        foreach (var _ in Cpus) { o.U64(0); o.U64(0); }
        for (int c = 0; c < Cpus.Count; c++)
        {
            o.Align(PageSize);
            long at = o.Pos;
            foreach (var p in Cpus[c]) o.Raw(p);
            o.Patch64(table + 16 * c, (ulong)at);
            o.Patch64(table + 16 * c + 8, (ulong)(o.Pos - at));
        }
        return o.S.ToArray();
    }

    /// <summary>A v7 file, its sections and per-CPU data zlib-compressed (chunks of <paramref name="pagesPerChunk"/>
    /// pages) or not.</summary>
    public byte[] V7(bool zlib, int pagesPerChunk = 2)
    {
        var o = new Out();
        Start(o, "7");
        o.Str(zlib ? "zlib" : "none");
        o.Str(zlib ? "1.2.13" : "");
        long optionsAt = o.Pos;
        o.U64(0);
        var offsets = new Dictionary<ushort, long>();
        void Section(ushort id, Action<Out> body)
        {
            var content = new Out();
            body(content);
            var bytes = content.S.ToArray();
            offsets[id] = o.Pos;
            o.U16(id); o.U16((ushort)(zlib ? 1 : 0)); o.U32(0);
            if (!zlib) { o.U64((ulong)bytes.Length); o.Raw(bytes); return; }
            var c = Compress(bytes);
            o.U64((ulong)c.Length + 8); o.U32((uint)c.Length); o.U32((uint)bytes.Length); o.Raw(c);
        }
        Section(16, HeaderInfo);
        Section(17, x => FormatsPart(x, ftrace: true));
        Section(18, x => FormatsPart(x, ftrace: false));
        Section(19, x => { x.U32((uint)Kallsyms.Length); x.Raw(Encoding.ASCII.GetBytes(Kallsyms)); });
        Section(21, x => { x.U64((ulong)Cmdlines.Length); x.Raw(Encoding.ASCII.GetBytes(Cmdlines)); });

        long bufferSection = o.Pos;
        o.U16(3); o.U16((ushort)(zlib ? 1 : 0)); o.U32(0); o.U64(0);
        var cpuAt = new List<(long, long)>();
        foreach (var pages in Cpus)
        {
            o.Align(PageSize);
            long at = o.Pos;
            if (!zlib) foreach (var p in pages) o.Raw(p);
            else
            {
                var chunks = pages.Chunk(pagesPerChunk).ToList();
                o.U32((uint)chunks.Count);
                foreach (var ch in chunks)
                {
                    var raw = ch.SelectMany(p => p).ToArray();
                    var c = Compress(raw);
                    o.U32((uint)c.Length); o.U32((uint)raw.Length); o.Raw(c);
                }
            }
            // trace-cmd 3.x counts a compressed CPU's chunks without the chunk count before them.
            cpuAt.Add((at, o.Pos - at - (zlib ? 4 : 0)));
        }

        long options = o.Pos;
        o.Patch64(optionsAt, (ulong)options);
        var opts = new Out();
        foreach (var (opt, id) in new (ushort, ushort)[] { (16, 16), (17, 17), (18, 18), (19, 19), (21, 21) })
        {
            opts.U16(opt); opts.U32(8); opts.U64((ulong)offsets[id]);
        }
        var buf = new Out();
        buf.U64((ulong)bufferSection); buf.Str(""); buf.Str("local"); buf.U32(PageSize); buf.U32((uint)Cpus.Count);
        for (int c = 0; c < Cpus.Count; c++) { buf.U32((uint)c); buf.U64((ulong)cpuAt[c].Item1); buf.U64((ulong)cpuAt[c].Item2); }
        var b = buf.S.ToArray();
        opts.U16(3); opts.U32((uint)b.Length); opts.Raw(b);
        if (ExtraInstance is not null)
        {
            var extra = new Out();
            extra.U64((ulong)bufferSection); extra.Str(ExtraInstance); extra.Str("local"); extra.U32(PageSize); extra.U32(0);
            var e = extra.S.ToArray();
            opts.U16(3); opts.U32((uint)e.Length); opts.Raw(e);
        }
        opts.U16(8); opts.U32(4); opts.U32((uint)Cpus.Count);
        opts.U16(0); opts.U32(8); opts.U64(0);
        var ob = opts.S.ToArray();
        o.U16(0); o.U16(0); o.U32(0); o.U64((ulong)ob.Length); o.Raw(ob);
        return o.S.ToArray();
    }

    static byte[] Compress(byte[] data)
    {
        var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(data);
        return ms.ToArray();
    }
}
