using System.Text.Json;
using DmaLab.Dma;
using DmaLab.Replay;

namespace DmaLab.Cli.Report;

/// <summary>
/// Writes a replay as a Chrome/Perfetto trace-event JSON timeline (opens in ui.perfetto.dev and chrome://tracing):
/// one process track per device (named by "process_name" metadata), one thread per lane so that mapping lifetimes
/// on a lane never overlap, each lifetime a complete ("X") slice with its addresses in args; markers as global
/// instants ("i", scope "g") on a "markers" track, IOMMU faults as process-scoped instants on their device.
/// Timestamps are trace time in microseconds. Streams as it goes: memory does not grow with the trace.
/// </summary>
public sealed class TraceEventJsonTimelineWriter : IReplayObserver, IDisposable
{
    const int MarkerPid = 1;
    readonly Utf8JsonWriter _json;
    readonly List<int> _lanesNamed = new();
    bool _completed;

    public TraceEventJsonTimelineWriter(Stream output)
    {
        _json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false, SkipValidation = false });
        _json.WriteStartObject();
        _json.WriteString("displayTimeUnit", "ns");
        _json.WriteStartArray("traceEvents");
        Metadata("process_name", MarkerPid, 0, "markers");
        Metadata("thread_name", MarkerPid, 1, "tracing_mark_write");
    }

    /// <summary>Slices written so far.</summary>
    public long Slices { get; private set; }
    public long Instants { get; private set; }

    static int PidOf(int deviceId) => deviceId + 2;

    void Metadata(string kind, int pid, int tid, string name)
    {
        _json.WriteStartObject();
        _json.WriteString("ph", "M");
        _json.WriteString("name", kind);
        _json.WriteNumber("pid", pid);
        _json.WriteNumber("tid", tid);
        _json.WriteStartObject("args");
        _json.WriteString("name", name);
        _json.WriteEndObject();
        _json.WriteEndObject();
    }

    public void OnDevice(int deviceId, string name)
    {
        while (_lanesNamed.Count <= deviceId) _lanesNamed.Add(0);
        Metadata("process_name", PidOf(deviceId), 0, name);
    }

    public void OnLifetime(int deviceId, int lane, ReplayLifetimeKind kind, ulong startNs, ulong endNs, ulong dmaAddr,
                           ulong physAddr, ulong size, long line, bool liveAtEnd, DmaDirection direction)
    {
        int pid = PidOf(deviceId), tid = lane + 1;
        while (_lanesNamed.Count <= deviceId) _lanesNamed.Add(0);
        while (_lanesNamed[deviceId] < tid) { _lanesNamed[deviceId]++; Metadata("thread_name", pid, _lanesNamed[deviceId], $"lane {_lanesNamed[deviceId] - 1}"); }
        _json.WriteStartObject();
        _json.WriteString("ph", "X");
        _json.WriteString("name", kind switch
        {
            ReplayLifetimeKind.Sg => "dma_map_sg",
            ReplayLifetimeKind.Coherent => "dma_alloc",
            _ => "dma_map",
        });
        _json.WriteString("cat", kind == ReplayLifetimeKind.Coherent ? "coherent" : "streaming");
        _json.WriteNumber("pid", pid);
        _json.WriteNumber("tid", tid);
        _json.WriteNumber("ts", startNs / 1000.0);
        _json.WriteNumber("dur", (endNs - startNs) / 1000.0);
        _json.WriteStartObject("args");
        _json.WriteString("dma_addr", $"0x{dmaAddr:x}");
        if (kind != ReplayLifetimeKind.Coherent) _json.WriteString("phys_addr", $"0x{physAddr:x}");
        _json.WriteNumber("size", size);
        if (kind != ReplayLifetimeKind.Coherent) _json.WriteString("direction", direction.ToKernelString());
        _json.WriteNumber("line", line);
        if (liveAtEnd) _json.WriteBoolean("liveAtEnd", true);
        _json.WriteEndObject();
        _json.WriteEndObject();
        Slices++;
        if (_json.BytesPending > 64 * 1024) _json.Flush();
    }

    public void OnInstant(int deviceId, ulong ns, string name, string detail, long line)
    {
        _json.WriteStartObject();
        _json.WriteString("ph", "i");
        _json.WriteString("name", name);
        _json.WriteString("s", deviceId < 0 ? "g" : "p");
        _json.WriteNumber("pid", deviceId < 0 ? MarkerPid : PidOf(deviceId));
        _json.WriteNumber("tid", deviceId < 0 ? 1 : 0);
        _json.WriteNumber("ts", ns / 1000.0);
        _json.WriteStartObject("args");
        _json.WriteString("detail", detail);
        _json.WriteNumber("line", line);
        _json.WriteEndObject();
        _json.WriteEndObject();
        Instants++;
        if (_json.BytesPending > 64 * 1024) _json.Flush();
    }

    /// <summary>Closes the JSON document (idempotent). Call after <see cref="TraceReplayer.Finish"/>.</summary>
    public void Complete()
    {
        if (_completed) return;
        _completed = true;
        _json.WriteEndArray();
        _json.WriteEndObject();
        _json.Flush();
    }

    public void Dispose()
    {
        Complete();
        _json.Dispose();
    }
}
