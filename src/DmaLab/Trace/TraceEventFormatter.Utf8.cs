using System.Buffers;
using System.Buffers.Text;
using System.Text;
using DmaLab.Dma;

namespace DmaLab.Trace;

public static partial class TraceEventFormatter
{
    /// <summary>
    /// <see cref="AppendLine"/> written straight to UTF-8 bytes, for the events that make up generated traffic
    /// (map/unmap single and sg, markers): the same text, byte for byte, without a StringBuilder and a transcoding
    /// pass. False (nothing to rely on in <paramref name="dest"/>) for other kinds or when <paramref name="dest"/>
    /// may be too small; the caller then formats with <see cref="AppendLine"/>.
    /// </summary>
    public static bool TryFormatLineUtf8(TraceRecord r, Span<byte> dest, out int written, bool legacyNames = false)
    {
        written = 0;
        if (r.Pid < 0 || r.Cpu < 0) return false;
        switch (r.Kind)
        {
            case TraceEventKind.DmaMapPhys or TraceEventKind.DmaUnmapPhys or TraceEventKind.DmaMapResource
                or TraceEventKind.DmaUnmapResource or TraceEventKind.DmaMapSg or TraceEventKind.DmaUnmapSg
                or TraceEventKind.TracingMarkWrite:
                break;
            default:
                return false;
        }
        string task = r.Task.Length == 0 ? "<...>" : r.Task;
        string flags = r.Flags.Length == 0 ? "....." : r.Flags;
        string name = legacyNames ? TraceEventNames.LegacyName(r.Kind) : TraceEventNames.DefaultName(r.Kind);
        // Padding counts characters: keep to ASCII names so that characters and bytes agree.
        if (!Ascii.IsValid(task) || !Ascii.IsValid(flags)) return false;
        long need = 160 + task.Length + flags.Length + name.Length + 3L * (r.Device.Length + r.Message.Length)
                    + 19L * (r.PhysAddrs.Length + r.DmaAddrs.Length + r.Lengths.Length) + 400;
        if (dest.Length < need) return false;

        var w = new Utf8Writer(dest);
        if (task.Length < 16) w.Spaces(16 - task.Length);
        w.Ascii(task);
        w.Byte((byte)'-');
        int p0 = w.Pos;
        w.Dec((ulong)r.Pid);
        w.Spaces(7 - (w.Pos - p0));
        w.Ascii(" [");
        if (r.Cpu < 100) w.Byte((byte)'0');
        if (r.Cpu < 10) w.Byte((byte)'0');
        w.Dec((ulong)r.Cpu);
        w.Ascii("] ");
        w.Ascii(flags);
        w.Byte((byte)' ');
        ulong sec = r.TimestampNs / 1_000_000_000UL, us = r.TimestampNs % 1_000_000_000UL / 1000;
        int secDigits = DigitCount(sec);
        if (secDigits < 5) w.Spaces(5 - secDigits);
        w.Dec(sec);
        w.Byte((byte)'.');
        for (int d = DigitCount(us); d < 6; d++) w.Byte((byte)'0');
        w.Dec(us);
        w.Ascii(": ");
        w.Ascii(name);
        w.Ascii(": ");

        if (r.Kind == TraceEventKind.TracingMarkWrite) w.Utf8(r.Message);
        else
        {
            w.Utf8(r.Device);
            w.Ascii(" dir=");
            w.Ascii(DirName(r.Dir));
            switch (r.Kind)
            {
                case TraceEventKind.DmaMapPhys or TraceEventKind.DmaMapResource:
                    w.Ascii(" dma_addr="); w.Hex(r.DmaAddr);
                    w.Ascii(" size="); w.Dec(r.Size);
                    w.Ascii(" phys_addr="); w.Hex(r.PhysAddr);
                    break;
                case TraceEventKind.DmaUnmapPhys or TraceEventKind.DmaUnmapResource:
                    w.Ascii(" dma_addr="); w.Hex(r.DmaAddr);
                    w.Ascii(" size="); w.Dec(r.Size);
                    break;
                case TraceEventKind.DmaMapSg:
                {
                    int nents = r.FullNents > 0 ? r.FullNents : r.PhysAddrs.Length;
                    int ents = r.FullEnts > 0 ? r.FullEnts : r.DmaAddrs.Length;
                    const int cap = TraceRecord.TraceMaxEntries;
                    w.Ascii(" nents="); w.Dec((ulong)Math.Min(nents, cap)); w.Byte((byte)'/'); w.Dec((ulong)nents);
                    w.Ascii(" ents="); w.Dec((ulong)Math.Min(ents, cap)); w.Byte((byte)'/'); w.Dec((ulong)ents);
                    if (nents > cap || ents > cap) w.Ascii(" [TRUNCATED]");
                    w.Ascii(" dma_addrs="); w.Array(r.DmaAddrs);
                    w.Ascii(" sizes="); w.Array(r.Lengths);
                    w.Ascii(" phys_addrs="); w.Array(r.PhysAddrs);
                    break;
                }
                default: // DmaUnmapSg
                    w.Ascii(" phys_addrs="); w.Array(r.PhysAddrs);
                    break;
            }
            w.Ascii(" attrs=");
            w.Attrs(r.Attrs);
        }
        written = w.Pos;
        return true;
    }

    static int DigitCount(ulong v)
    {
        int n = 1;
        while (v >= 10) { v /= 10; n++; }
        return n;
    }

    /// <summary>Appends to a span known to be large enough (checked once by the caller).</summary>
    ref struct Utf8Writer(Span<byte> dest)
    {
        readonly Span<byte> _d = dest;
        public int Pos;

        public void Byte(byte b) => _d[Pos++] = b;
        public void Spaces(int n) { for (int i = 0; i < n; i++) _d[Pos++] = (byte)' '; }
        public void Ascii(string s) { for (int i = 0; i < s.Length; i++) _d[Pos++] = (byte)s[i]; }
        public void Utf8(string s) => Pos += Encoding.UTF8.GetBytes(s, _d[Pos..]);
        public void Dec(ulong v) { Utf8Formatter.TryFormat(v, _d[Pos..], out int n); Pos += n; }
        public void Hex(ulong v) { Utf8Formatter.TryFormat(v, _d[Pos..], out int n, new StandardFormat('x')); Pos += n; }

        public void Array(ReadOnlySpan<ulong> values)
        {
            Byte((byte)'{');
            for (int i = 0; i < values.Length; i++)
            {
                if (i > 0) Byte((byte)',');
                Ascii("0x");
                Hex(values[i]);
            }
            Byte((byte)'}');
        }

        public void Attrs(DmaAttrs attrs)
        {
            ulong rest = (ulong)attrs;
            bool first = true;
            foreach (var (bit, name) in AttrNames)
            {
                if ((rest & (ulong)bit) == 0) continue;
                if (!first) Byte((byte)'|');
                Ascii(name);
                first = false;
                rest &= ~(ulong)bit;
            }
            if (rest != 0)
            {
                if (!first) Byte((byte)'|');
                Ascii("0x");
                Hex(rest);
            }
        }
    }
}
