namespace DmaLab.Trace;

/// <summary>
/// Ends the text where binary data starts: ftrace text never holds a NUL byte, so the first NUL after at least one
/// whole line of text that is followed by more control bytes (<see cref="LooksBinary"/>) marks a binary tail (a capture with a core dump or a raw buffer appended, a truncated copy
/// padded with zeros). The stream stops at the start of the line holding it, so every text line before it is
/// replayed, and the rest is read through and counted in <see cref="TraceReadStats"/> (its offset, line and byte
/// count) instead of being parsed as garbage lines. Input that starts binary passes unchanged, for the reader to
/// reject as a whole.
/// </summary>
internal sealed class TextTailStream(Stream inner, TraceReadStats stats) : ReadOnlyStream
{
    long _offset, _newlines;
    bool _ended;

    public override int Read(Span<byte> buffer)
    {
        if (_ended || buffer.IsEmpty) return 0;
        int n = inner.Read(buffer);
        if (n <= 0) return 0;
        var got = buffer[..n];
        int nul = -1;
        for (int from = 0; from < n;)
        {
            int i = got[from..].IndexOf((byte)0);
            if (i < 0) break;
            if (LooksBinary(got[(from + i)..])) { nul = from + i; break; }
            from += i + 1;
        }
        if (nul < 0)
        {
            _offset += n;
            _newlines += got.Count((byte)'\n');
            return n;
        }
        int lineStart = got[..nul].LastIndexOf((byte)'\n') + 1;
        long cut = _offset + (lineStart > 0 ? lineStart : nul);
        if (cut == 0 || (_newlines == 0 && lineStart == 0))
        {
            // Binary from the first line on: not a text trace with a tail; let the reader judge the whole input.
            _offset += n;
            _newlines += got.Count((byte)'\n');
            return n;
        }
        int keep = (int)(cut - _offset);
        _newlines += got[..keep].Count((byte)'\n');
        stats.BinaryOffset = cut;
        stats.BinaryLine = _newlines + 1;
        long dropped = n - keep;
        var scratch = new byte[64 * 1024];
        for (int r; (r = inner.Read(scratch)) > 0;) dropped += r;
        stats.BinaryBytesDropped = dropped;
        _ended = true;
        _offset = cut;
        return keep;
    }

    /// <summary>A NUL starts binary data when control bytes are dense after it (one in sixteen of the next 256 bytes,
    /// random data has one in ten);
    /// a stray NUL in a text line only spoils that line, which the parser counts as malformed.</summary>
    static bool LooksBinary(ReadOnlySpan<byte> fromNul)
    {
        var window = fromNul[..Math.Min(fromNul.Length, 256)];
        int control = 0;
        foreach (byte b in window)
            if (b < 0x09 || (b > 0x0D && b < 0x20 && b != 0x1B) || b == 0x7F) control++;
        return window.Length >= 32 ? control * 16 >= window.Length : window.Length >= 8 && control * 2 >= window.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
