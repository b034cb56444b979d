namespace DmaLab.Trace;

/// <summary>Options for <see cref="FtraceReader"/>.</summary>
public sealed class FtraceReaderOptions
{
    /// <summary>Called every <see cref="ProgressEveryLines"/> lines and once at the end.</summary>
    public Action<TraceProgress>? Progress { get; init; }
    public int ProgressEveryLines { get; init; } = 1 << 16;
    /// <summary>Also return records of events the reader does not model (Kind = Unknown, only the header filled).</summary>
    public bool ReturnUnknownEvents { get; init; }
}
