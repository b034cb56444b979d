using System.CommandLine;
using System.Globalization;
using DmaLab.Replay;

namespace DmaLab.Cli;

/// <summary>The report filters of `dmalab replay` (--device, --pid, --comm, --from, --to, --phase), read into a
/// <see cref="ReplayFilter"/>. Each list option may be repeated or take a comma-separated list.</summary>
public sealed class ReplayFilterOptions
{
    readonly Option<string[]> _device = List("--device", "Report only these devices (dev_name, e.g. 0000:00:04.0)");
    readonly Option<string[]> _pid = List("--pid", "Report only calls made by these process ids");
    readonly Option<string[]> _comm = List("--comm", "Report only calls made by these tasks (comm, e.g. nvme, kworker/0:1)");
    readonly Option<double?> _from = CommonOptions.Seconds("--from", "Report only events at or after this trace time (seconds, the timestamp column)");
    readonly Option<double?> _to = CommonOptions.Seconds("--to", "Report only events at or before this trace time (seconds)");
    readonly Option<string[]> _phase = List("--phase", "Report only these phases (the tracing_mark_write text that opens one, or (start))");

    public static ReplayFilterOptions Create() => new();

    static Option<string[]> List(string name, string description) => new(name) { Description = description, AllowMultipleArgumentsPerToken = false };

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(_device);
        cmd.Options.Add(_pid);
        cmd.Options.Add(_comm);
        cmd.Options.Add(_from);
        cmd.Options.Add(_to);
        cmd.Options.Add(_phase);
    }

    public ReplayFilter? Read(ParseResult pr)
    {
        var pids = new List<int>();
        foreach (var p in Split(pr.GetValue(_pid)))
            pids.Add(int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid
                : throw new UsageException($"--pid {p}: expected a process id (a whole number)"));
        var f = new ReplayFilter
        {
            Devices = Split(pr.GetValue(_device)), Pids = pids, Comms = Split(pr.GetValue(_comm)),
            FromSeconds = pr.GetValue(_from), ToSeconds = pr.GetValue(_to), Phases = pr.GetValue(_phase) ?? [],
        };
        return f.IsEmpty ? null : f;
    }

    static string[] Split(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
}
