using System.Text;

namespace DmaLab.Trace;

/// <summary>
/// The raw form `trace-cmd report` prints when libtraceevent cannot format an event (it cannot evaluate the print
/// format of dma_map_sg and dma_unmap_sg on Linux 6.12): "[FAILED TO PARSE] name=value ..." with every field of the
/// record by its TP_STRUCT__entry name, numbers in decimal or 0x-hex, strings as they are, and dynamic arrays as
/// the bytes they hold, "ARRAY[00, 40, dc, 7f, ...]". The bytes are put together into elements little-endian (x86
/// and arm64 kernels) by the element sizes of the Linux 6.12 event layouts (include/trace/events/dma.h: u64
/// phys_addrs, dma_addrs, addrs; unsigned int lengths), which the text itself does not carry; a .dat file gives
/// its own formats instead (<see cref="TraceCmd.TraceCmdEventDecoder"/>). The record filled is the one the
/// formatted line would give.
/// </summary>
internal sealed partial class FtraceLineParser
{
    static ReadOnlySpan<byte> FailedToParse => "[FAILED TO PARSE]"u8;

    /// <summary>Element bytes of a dynamic array in the raw form, by the field it fills (6.12 layouts).</summary>
    static int RawElementSize(TraceFieldTarget t) => t == TraceFieldTarget.Lengths ? 4 : 8;

    bool TryParseRaw(TraceEventKind kind, ReadOnlySpan<byte> f, TraceRecord r, out string? reason)
    {
        reason = null;
        ulong have = 0;
        var rest = f;
        while (true)
        {
            int i = 0;
            while (i < rest.Length && rest[i] == (byte)' ') i++;
            rest = rest[i..];
            if (rest.IsEmpty) break;
            int eq = rest.IndexOf((byte)'=');
            int sp = rest.IndexOf((byte)' ');
            if (eq <= 0 || (sp >= 0 && sp < eq)) { reason = "expected name=value after [FAILED TO PARSE]"; return false; }
            var key = rest[..eq];
            rest = rest[(eq + 1)..];
            ReadOnlySpan<byte> val;
            bool array = rest.StartsWith("ARRAY["u8);
            if (array)
            {
                int close = rest.IndexOf((byte)']');
                if (close < 0) { reason = $"unterminated ARRAY[ for {Encoding.ASCII.GetString(key)}="; return false; }
                val = rest[6..close];
                rest = rest[(close + 1)..];
            }
            else
            {
                int end = rest.IndexOf((byte)' ');
                val = end < 0 ? rest : rest[..end];
                rest = end < 0 ? default : rest[end..];
            }
            var target = TraceFieldBinder.TargetOf(kind, Encoding.ASCII.GetString(key));
            if (target == TraceFieldTarget.None) continue;
            if (!RawField(target, val, array, r)) { reason = $"bad value for {Encoding.ASCII.GetString(key)}="; return false; }
            have |= TraceFieldBinder.Bit(target);
        }
        var missing = TraceFieldBinder.Missing(kind, have);
        if (missing is not null) { reason = $"[FAILED TO PARSE] form without a value for {missing}"; return false; }
        return true;
    }

    bool RawField(TraceFieldTarget target, ReadOnlySpan<byte> val, bool array, TraceRecord r)
    {
        switch (target)
        {
            case TraceFieldTarget.Device: SetDevice(r, val); return true;
            case TraceFieldTarget.Driver: r.Driver = _strings[_strings.Intern(val)]; return true;
            case TraceFieldTarget.Message: r.Message = Encoding.UTF8.GetString(TrimEnd(val)); return true;
            case TraceFieldTarget.Gfp: r.Gfp = _strings[_strings.Intern(val)]; return true;
        }
        if (TraceFieldBinder.IsList(target))
        {
            if (!array) return false;
            int es = RawElementSize(target);
            Span<ulong> items = stackalloc ulong[TraceRecord.TraceMaxEntries];
            ulong[]? big = null;
            int n = 0, bytes = 0;
            ulong cur = 0;
            while (!val.IsEmpty)
            {
                int comma = val.IndexOf((byte)',');
                var item = Trim(comma < 0 ? val : val[..comma]);
                val = comma < 0 ? default : val[(comma + 1)..];
                if (item.IsEmpty && val.IsEmpty) break;
                if (!TryParseHex(item, out ulong b) || b > 0xff) return false;
                cur |= b << (8 * (bytes % es));
                if (++bytes % es != 0) continue;
                if (n == items.Length && big is null) { big = new ulong[items.Length * 2]; items.CopyTo(big); }
                else if (big is not null && n == big.Length) Array.Resize(ref big, big.Length * 2);
                if (big is null) items[n++] = cur; else big[n++] = cur;
                cur = 0;
            }
            if (bytes % es != 0) return false;
            TraceFieldBinder.SetList(r, target, big is null ? items[..n] : big.AsSpan(0, n));
            return true;
        }
        if (array) return false;
        bool neg = !val.IsEmpty && val[0] == (byte)'-';
        var digits = neg ? val[1..] : val;
        bool ok = digits.StartsWith("0x"u8) ? TryParseHex(digits, out ulong v) : TryParseDec(digits, out v);
        if (!ok) return false;
        TraceFieldBinder.SetScalar(r, target, neg ? (ulong)-(long)v : v);
        return true;
    }
}
