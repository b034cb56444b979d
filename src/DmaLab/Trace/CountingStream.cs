namespace DmaLab.Trace;

/// <summary>Read-only pass-through that counts the bytes taken from the inner stream (for progress).</summary>
internal sealed class CountingStream(Stream inner) : ReadOnlyStream
{
    public long BytesRead { get; private set; }
    public override long Length => inner.Length;
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = inner.Read(buffer, offset, count);
        BytesRead += n;
        return n;
    }
    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        BytesRead += n;
        return n;
    }
    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
}
