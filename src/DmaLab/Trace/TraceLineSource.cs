using System.Buffers;

namespace DmaLab.Trace;

/// <summary>
/// Splits a byte stream into lines without allocating per line: one pooled buffer that grows only when a line is
/// longer than it (up to <see cref="MaxLineBytes"/>; longer lines are returned cut and flagged). Constant memory in
/// the size of the input. Handles "\n" and "\r\n".
/// </summary>
internal sealed class TraceLineSource : IDisposable
{
    /// <summary>Longest line kept whole. The kernel prints at most a page per event (trace_seq), so 1 MiB is ample.</summary>
    public const int MaxLineBytes = 1 << 20;

    readonly Stream _stream;
    byte[] _buf;
    int _start, _end;
    bool _eof;
    bool _stacksSeen; // the input has options/stacktrace entries: a run is never cut blind right after an event
    long _consumed; // bytes of the stream before _buf[_start]

    public TraceLineSource(Stream stream, int initialBuffer = 64 * 1024)
    {
        _stream = stream;
        _buf = ArrayPool<byte>.Shared.Rent(initialBuffer);
    }

    /// <summary>Bytes of text consumed so far (offset of the next line).</summary>
    public long Offset => _consumed;
    /// <summary>True when the last line returned was longer than <see cref="MaxLineBytes"/> and was cut.</summary>
    public bool LastLineCut { get; private set; }

    /// <summary>Peeks at the first bytes of the stream (fills the buffer) without consuming them.</summary>
    public ReadOnlySpan<byte> Peek(int count)
    {
        while (_end - _start < count && !_eof) Fill();
        return _buf.AsSpan(_start, Math.Min(count, _end - _start));
    }

    /// <summary>Next line without its terminator; false at end of input. The span is valid until the next call.</summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        SkipRestOfCutLine();
        LastLineCut = false;
        int scanFrom = _start;
        while (true)
        {
            int nl = _buf.AsSpan(scanFrom, _end - scanFrom).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                int lineEnd = scanFrom + nl;
                line = Take(lineEnd, lineEnd + 1);
                return true;
            }
            scanFrom = _end;
            if (_eof)
            {
                if (_end == _start) { line = default; return false; }
                line = Take(_end, _end);
                return true;
            }
            if (_end - _start >= MaxLineBytes)
            {
                // Overlong line: hand out what we have; the rest of it is dropped at the next call (dropping it now
                // would refill the buffer under the span handed out).
                line = Take(_end, _end);
                LastLineCut = true;
                _skipRest = true;
                return true;
            }
            int keptBefore = _start;
            Fill();
            scanFrom -= keptBefore - _start; // Fill may compact the buffer
        }
    }

    /// <summary>
    /// Next run of whole lines, at most <paramref name="maxBytes"/> of them, each still ending in its "\n" (a "\r"
    /// before it is left for the caller to drop): the lines <see cref="TryReadLine"/> would return one by one, in one
    /// span, for parsers that split it themselves. When no line ends within <paramref name="maxBytes"/> (a line that
    /// long, the last line of the input without a newline, or an overlong one) it returns that single line as
    /// <see cref="TryReadLine"/> does, without its terminator and with <paramref name="singleLine"/> set (and
    /// <see cref="LastLineCut"/> when it was cut). The span is valid until the next call; false at end of input.
    /// </summary>
    public bool TryReadBlock(int maxBytes, out ReadOnlySpan<byte> block, out bool singleLine)
    {
        SkipRestOfCutLine();
        LastLineCut = false;
        singleLine = false;
        while (true)
        {
            int avail = _end - _start;
            int nl = _buf.AsSpan(_start, Math.Min(avail, maxBytes)).LastIndexOf((byte)'\n');
            if (nl >= 0)
            {
                int safe = StackSafeCut(nl);
                if (safe < 0 && !_eof && avail < maxBytes && avail < MaxLineBytes) { Fill(); continue; }
                if (safe >= 0) nl = safe;
                block = _buf.AsSpan(_start, nl + 1);
                _consumed += nl + 1;
                _start += nl + 1;
                return true;
            }
            if (_eof || avail >= maxBytes || avail >= MaxLineBytes)
            {
                singleLine = true;
                return TryReadLine(out block);
            }
            Fill();
        }
    }

    /// <summary>
    /// Moves a run's cut (the offset of its last "\n" from <c>_start</c>) back before a kernel stack that the cut
    /// would split (options/stacktrace: an event line, "&lt;stack trace&gt;", " => " frames), so the stack stays in one
    /// run with its event: runs are parsed on their own. Unchanged when no stack is at the cut; -1 when the buffered
    /// text is all stack (read more, or take it as it is at the end of the input).
    /// </summary>
    int StackSafeCut(int nl)
    {
        var buf = _buf.AsSpan(_start, _end - _start);
        if (_eof && nl + 1 == buf.Length) return nl; // the rest of the input: nothing to split
        // The line after the cut, when it is all buffered; when it is not, it may be the stack of the last event
        // (then that event waits for the next run). A trace without stacks pays one vectorised scan of a run for it.
        int nextEnd = buf[(nl + 1)..].IndexOf((byte)'\n');
        bool nextKnown = nextEnd >= 0 || _eof;
        bool nextIsStack = StackLine(buf, nl + 1, nextEnd >= 0 ? nl + 1 + nextEnd : buf.Length);
        if (!nextKnown && !_stacksSeen) _stacksSeen = buf[..nl].IndexOf("<stack trace>"u8) >= 0;
        if (!nextIsStack && (nextKnown || !_stacksSeen)) return nl;
        int end = nl;
        while (end > 0)
        {
            int ls = LineStart(buf, end);
            if (ls == 0) return -1;
            bool stackLine = StackLine(buf, ls, end);
            end = ls - 1; // drop the line
            if (!stackLine) return end; // that was the event the stack belongs to
        }
        return -1;
    }

    static bool FrameAt(ReadOnlySpan<byte> buf, int ls) =>
        ls + 3 <= buf.Length && buf[ls] == (byte)' ' && buf[ls + 1] == (byte)'=' && buf[ls + 2] == (byte)'>';

    static bool StackLine(ReadOnlySpan<byte> buf, int ls, int end) => FrameAt(buf, ls) || buf[ls..end].IndexOf("<stack trace>"u8) >= 0;

    /// <summary>Start of the line whose "\n" is at <paramref name="lineEnd"/>.</summary>
    static int LineStart(ReadOnlySpan<byte> buf, int lineEnd) => buf[..lineEnd].LastIndexOf((byte)'\n') + 1;

    ReadOnlySpan<byte> Take(int lineEnd, int next)
    {
        int s = _start;
        int e = lineEnd;
        if (e > s && _buf[e - 1] == (byte)'\r') e--;
        _consumed += next - _start;
        _start = next;
        return _buf.AsSpan(s, e - s);
    }

    bool _skipRest;

    void SkipRestOfCutLine()
    {
        if (!_skipRest) return;
        _skipRest = false;
        SkipToNewline();
    }

    void SkipToNewline()
    {
        while (true)
        {
            if (_start == _end) { if (_eof) return; Fill(); continue; }
            int nl = _buf.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl >= 0) { _consumed += nl + 1; _start += nl + 1; return; }
            _consumed += _end - _start;
            _start = _end;
            if (_eof) return;
        }
    }

    void Fill()
    {
        if (_start > 0 && (_start == _end || _end == _buf.Length))
        {
            Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buf.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_buf.Length * 2, MaxLineBytes * 2));
            Buffer.BlockCopy(_buf, 0, bigger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buf);
            _buf = bigger;
        }
        int n = _stream.Read(_buf, _end, _buf.Length - _end);
        if (n <= 0) _eof = true;
        else _end += n;
    }

    public void Dispose()
    {
        if (_buf.Length > 0) ArrayPool<byte>.Shared.Return(_buf);
        _buf = [];
    }
}
