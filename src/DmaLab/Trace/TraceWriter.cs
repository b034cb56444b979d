using System.Text;
using DmaLab.Sim;

namespace DmaLab.Trace;

/// <summary>
/// An <see cref="ITraceSink"/> that writes tracefs-format lines to a <see cref="TextWriter"/>, stamped with the
/// simulation's virtual time (seconds.microseconds of <see cref="SimClock.NowNs"/>) and the current task/pid, so a
/// DmaLab run produces a trace that <see cref="FtraceReader"/> — and kernel tooling — reads like a real capture.
/// </summary>
public sealed class TraceWriter : ITraceSink
{
    readonly TextWriter _out;
    readonly SimClock _clock;
    readonly StringBuilder _sb = new(256);

    /// <param name="output">where lines go (one per event, "\n" terminated)</param>
    /// <param name="clock">virtual time source</param>
    /// <param name="task">comm shown in the TASK column</param>
    /// <param name="pid">pid shown after the comm</param>
    public TraceWriter(TextWriter output, SimClock clock, string task = "dmalab", int pid = 1)
    {
        _out = output;
        _clock = clock;
        Task = task;
        Pid = pid;
    }

    public bool Enabled => true;
    public string Task { get; set; }
    public int Pid { get; set; }
    /// <summary>The irq-info flags column ("....." = process context, preemptible).</summary>
    public string Flags { get; set; } = ".....";
    /// <summary>Print pre-6.18 event names (dma_map_page) for records written with <see cref="WriteRecord"/>.</summary>
    public bool LegacyNames { get; set; }
    public long LinesWritten { get; private set; }

    /// <summary>The tracefs header block (tracer, entry counts, column legend).</summary>
    public void WriteHeader(long entries, int cpus) => _out.Write(TraceEventFormatter.Header(entries, cpus));

    public void Write(int cpu, string system, string eventName, string fields)
    {
        _sb.Clear();
        TraceEventFormatter.AppendPrefix(_sb, Task, Pid, cpu, Flags, _clock.NowNs);
        _sb.Append(eventName).Append(": ").Append(fields).Append('\n');
        Flush();
    }

    /// <summary>Writes a record as a kernel line, using the record's own task, pid, CPU, flags and timestamp; a record
    /// with a <see cref="TraceRecord.Stack"/> is followed by the stack entry as options/stacktrace prints it (Linux:
    /// kernel/trace/trace_output.c, trace_stack_print(): "&lt;stack trace&gt;", then one " => " line per frame).</summary>
    public void WriteRecord(TraceRecord r)
    {
        _sb.Clear();
        TraceEventFormatter.AppendLine(_sb, r, LegacyNames);
        _sb.Append('\n');
        if (r.Stack.Length > 0)
        {
            TraceEventFormatter.AppendPrefix(_sb, r.Task, r.Pid, r.Cpu, r.Flags, r.TimestampNs);
            _sb.Append("<stack trace>\n");
            foreach (var frame in r.Stack.Split('\n')) _sb.Append(" => ").Append(frame).Append('\n');
        }
        Flush();
    }

    void Flush()
    {
        foreach (var chunk in _sb.GetChunks()) _out.Write(chunk.Span);
        LinesWritten++;
    }
}
