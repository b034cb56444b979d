using DmaLab.Replay;

namespace DmaLab.Trace;

/// <summary>Options for <see cref="FtraceReader"/>.</summary>
public sealed class FtraceReaderOptions
{
    /// <summary>Called after each run of lines read (about 64 KiB of text) that takes the line count past a multiple
    /// of <see cref="ProgressEveryLines"/>, and once at the end; always on the thread that reads the records.</summary>
    public Action<TraceProgress>? Progress { get; init; }
    public int ProgressEveryLines { get; init; } = 1 << 16;
    /// <summary>Also return records of events the reader does not model (Kind = Unknown, only the header filled).</summary>
    public bool ReturnUnknownEvents { get; init; }
    /// <summary>Let a replay (<see cref="TraceReplayer.Replay(FtraceReader, ReplayOptions?)"/>, <see cref="ReplayRunner.Run"/>) parse on worker
    /// threads, a bounded ring of runs of lines ahead of the replay, when the machine has more than one CPU (see
    /// <see cref="FtraceReadAhead"/>). The records and the report are the same either way. <see cref="FtraceReader.Read"/>
    /// itself always reads on the caller's thread.</summary>
    public bool ReadAhead { get; init; } = true;
    /// <summary>Parse every line with the general key=value parser only (no fixed-layout fast path): for tests
    /// that check the two give the same records.</summary>
    internal bool GeneralParserOnly { get; init; }
    /// <summary>Decode .xz with the managed decoder even where the system's liblzma is available (tests that check
    /// the two give the same text).</summary>
    internal bool ManagedXz { get; init; }
}
