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
    /// <summary>Let a replay (<see cref="TraceReplayer.Replay"/>, <see cref="ReplayRunner.Run"/>) parse on a second
    /// thread, a bounded ring of records ahead of the replay, when the machine has more than one CPU. The records and
    /// the report are the same either way. Off by default here: for the bookkeeping replay alone, handing each record
    /// to the other core cost more than the replay stage it takes off the parsing thread (measured, see
    /// <see cref="FtraceReadAhead"/>); <see cref="ReplayRunOptions.ReadAhead"/> turns it on for the model-backed
    /// replay, where it pays.</summary>
    public bool ReadAhead { get; init; }
    /// <summary>Parse every line with the general key=value parser only (no fixed-layout fast path): for tests
    /// that check the two give the same records.</summary>
    internal bool GeneralParserOnly { get; init; }
    /// <summary>Decode .xz with the managed decoder even where the system's liblzma is available (tests that check
    /// the two give the same text).</summary>
    internal bool ManagedXz { get; init; }
}
