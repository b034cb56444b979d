using System.Text;

namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// The traced kernel's /proc/kallsyms as trace-cmd saves it: names the function an instruction pointer lies in (the
/// nearest text or weak symbol at or below it), the way tracefs prints the <c>ip</c> of a <c>print</c> event (Linux:
/// kernel/trace/trace_output.c, seq_print_ip_sym()), which is how a trace_marker write shows as
/// "tracing_mark_write: ...". A kernel's list is megabytes and a trace names a handful of addresses, so each lookup
/// scans the text instead of building a table. Addresses the file hides (kptr_restrict prints zeros) match nothing.
/// </summary>
internal sealed class KernelSymbols(byte[] text)
{
    public static readonly KernelSymbols Empty = new([]);

    /// <summary>The function <paramref name="ip"/> is in, or null when none is at or below it.</summary>
    public string? Lookup(ulong ip)
    {
        ReadOnlySpan<byte> t = text;
        ulong best = 0;
        int bestStart = -1, bestLength = 0;
        int pos = 0;
        while (pos < t.Length)
        {
            int nl = t[pos..].IndexOf((byte)'\n');
            int end = nl < 0 ? t.Length : pos + nl;
            var line = t[pos..end];
            pos = end + 1;
            // "ffffffff81000000 T _stext [module]"
            ulong addr = 0;
            int i = 0;
            for (; i < line.Length && i < 16; i++)
            {
                int d = HexDigit(line[i]);
                if (d < 0) break;
                addr = (addr << 4) | (uint)d;
            }
            if (i == 0 || addr == 0 || addr > ip || addr < best || i + 3 > line.Length || line[i] != (byte)' ') continue;
            byte type = line[i + 1];
            if (type is not ((byte)'t' or (byte)'T' or (byte)'w' or (byte)'W') || line[i + 2] != (byte)' ') continue;
            int nameStart = i + 3;
            int nameEnd = nameStart;
            while (nameEnd < line.Length && line[nameEnd] is not ((byte)' ' or (byte)'\t' or (byte)'\r')) nameEnd++;
            if (nameEnd == nameStart) continue;
            best = addr;
            bestStart = end - line.Length + nameStart;
            bestLength = nameEnd - nameStart;
        }
        return bestStart < 0 ? null : Encoding.UTF8.GetString(text, bestStart, bestLength);
    }

    static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
