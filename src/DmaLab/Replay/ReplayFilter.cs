using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>
/// What a replay reports (`dmalab replay --device/--pid/--comm/--from/--to/--phase`): the model and the mapping
/// bookkeeping still see every event, so state (IOVAs, live mappings, fidelity of later calls) stays exact; only the
/// counts, findings, fidelity comparisons and events the report shows are narrowed to the events that pass. Empty
/// lists and null bounds do not narrow. Times are trace seconds (the timestamp column).
/// </summary>
public sealed record ReplayFilter
{
    public IReadOnlyList<string> Devices { get; init; } = [];
    public IReadOnlyList<int> Pids { get; init; } = [];
    /// <summary>Task names (comm), exact.</summary>
    public IReadOnlyList<string> Comms { get; init; } = [];
    public double? FromSeconds { get; init; }
    public double? ToSeconds { get; init; }
    /// <summary>Phase names (the tracing_mark_write text that opened it, or "(start)"), exact.</summary>
    public IReadOnlyList<string> Phases { get; init; } = [];

    public bool IsEmpty => Devices.Count == 0 && Pids.Count == 0 && Comms.Count == 0 && FromSeconds is null && ToSeconds is null && Phases.Count == 0;

    /// <summary>The filter in words, for reports ("device 0000:00:04.0, 1.5 s to 3 s").</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (Devices.Count > 0) parts.Add("device " + string.Join(", ", Devices));
        if (Pids.Count > 0) parts.Add("pid " + string.Join(", ", Pids));
        if (Comms.Count > 0) parts.Add("comm " + string.Join(", ", Comms));
        if (FromSeconds is not null || ToSeconds is not null)
            parts.Add($"{(FromSeconds is double f ? Seconds(f) : "start")} to {(ToSeconds is double t ? Seconds(t) : "end")}");
        if (Phases.Count > 0) parts.Add("phase " + string.Join(", ", Phases));
        return string.Join("; ", parts);
    }

    static string Seconds(double s) => s.ToString("0.#########", System.Globalization.CultureInfo.InvariantCulture) + " s";

    ulong FromNs => FromSeconds is double f ? (ulong)Math.Round(f * 1e9) : 0;
    ulong ToNs => ToSeconds is double t ? (ulong)Math.Round(t * 1e9) : ulong.MaxValue;

    /// <summary>Whether an event passes: every given criterion must hold (an event without a device passes a device
    /// criterion only when it is a marker).</summary>
    public bool Matches(TraceRecord r, string? phase)
    {
        if (r.TimestampNs < FromNs || r.TimestampNs > ToNs) return false;
        if (Pids.Count > 0 && !Pids.Contains(r.Pid)) return false;
        if (Comms.Count > 0 && !Comms.Contains(r.Task)) return false;
        if (Phases.Count > 0 && (phase is null || !Phases.Contains(phase))) return false;
        if (Devices.Count > 0 && !Devices.Contains(r.Device)) return false;
        return true;
    }

    /// <summary>Whether <paramref name="device"/> passes the device criterion (judgements at the end of the trace).</summary>
    public bool MatchesDevice(string device) => Devices.Count == 0 || Devices.Contains(device);
}
