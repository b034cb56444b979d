namespace DmaLab.Trace;

/// <summary>
/// Reading progress for a progress bar. <see cref="InputBytes"/> counts bytes taken from the caller's stream
/// (compressed when the input is compressed) and <see cref="InputLength"/> is that stream's length when it is
/// seekable (else -1), so InputBytes/InputLength is the fraction done.
/// </summary>
public readonly record struct TraceProgress(long InputBytes, long InputLength, long TextBytes, long Lines, long Events);
