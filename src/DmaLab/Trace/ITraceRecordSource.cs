namespace DmaLab.Trace;

/// <summary>
/// A stream of trace records in trace order, whatever the capture's form: ftrace text (tracefs, `trace-cmd report`;
/// <see cref="FtraceReader"/>, parsed ahead on worker threads by its read-ahead) or a binary trace-cmd .dat
/// (<see cref="TraceCmd.TraceCmdReader"/>). <see cref="TraceSource.Open"/> picks one by the content. A replay
/// consumes any of them the same way and gets the same records from the same ring buffer.
/// </summary>
public interface ITraceRecordSource : IDisposable
{
    /// <summary>The input's name for messages.</summary>
    string SourceName { get; }
    /// <summary>What was read so far: counts by event name, skipped and lost events, the CPUs of the buffer.</summary>
    TraceReadStats Stats { get; }
    /// <summary>Devices seen so far, in order of first appearance; <see cref="TraceRecord.DeviceId"/> indexes it.</summary>
    NameTable Devices { get; }
    /// <summary>The current record, valid after <see cref="Read"/> returned true and until the next call.</summary>
    TraceRecord Current { get; }
    /// <summary>Advances to the next record; false at the end. Bad input throws <see cref="TraceFormatException"/>.</summary>
    bool Read();
    /// <summary>Hands the current record to the caller for good and takes <paramref name="spare"/> (a record the
    /// caller no longer needs) to read the next one into: records change hands instead of being copied.</summary>
    void Exchange(TraceRecord spare);
}
