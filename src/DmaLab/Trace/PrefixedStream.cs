namespace DmaLab.Trace;

/// <summary>Replays a few already-read bytes before the rest of a non-seekable stream (magic-number sniffing on stdin).</summary>
internal sealed class PrefixedStream(byte[] prefix, int prefixLength, Stream inner) : ReadOnlyStream
{
    int _pos;
    long _delivered; // XZStream asks its base stream for Position
    public override long Position { get => _delivered; set => throw new NotSupportedException(); }
    public override int Read(Span<byte> buffer)
    {
        if (_pos < prefixLength)
        {
            int n = Math.Min(buffer.Length, prefixLength - _pos);
            prefix.AsSpan(_pos, n).CopyTo(buffer);
            _pos += n;
            _delivered += n;
            return n;
        }
        int m = inner.Read(buffer);
        _delivered += m;
        return m;
    }
    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
}
