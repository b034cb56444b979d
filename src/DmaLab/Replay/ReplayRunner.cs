using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>
/// One-call replay for the CLI: streams an ftrace text (plain, .xz or .gz) through the <see cref="TraceReplayer"/>
/// with a <see cref="MachineReplayModel"/> (fidelity against the kernel's addresses), optionally a what-if
/// (<see cref="ReplayWhatIf"/>) and an observer (the CLI's timeline), in constant memory. Bad input throws
/// <see cref="TraceFormatException"/> with a one-line message.
/// </summary>
public static class ReplayRunner
{
    /// <summary>CPUs assumed when the trace has no "#P:N" header (trace_pipe output) and no platform says.</summary>
    public const int DefaultCpus = 64;

    public static ReplayReport Run(Stream input, string name, ReplayRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = options ?? new ReplayRunOptions();
        using var reader = new FtraceReader(input, name, new FtraceReaderOptions { Progress = o.Progress, ReadAhead = o.ReadAhead });

        MachineReplayModel? primary = o.NoModel ? null : new MachineReplayModel(new MachineReplayOptions
        {
            Platform = o.Platform, PciWindows = o.PciWindows, Costs = o.Costs,
        });
        IReplayModel? model = primary;
        ReplayWhatIf? whatIf = null;
        var policy = o.Policy ?? ReplayPolicy.AsTraced;
        if (policy != ReplayPolicy.AsTraced || o.IommuModel is not null)
        {
            if (o.IommuModel is not null && ReplayIommuFamily.FromName(o.IommuModel) is null)
                throw new ArgumentException($"unknown IOMMU model '{o.IommuModel}'; expected one of {string.Join(", ", ReplayIommuFamily.Names)}");
            primary ??= new MachineReplayModel(new MachineReplayOptions { Platform = o.Platform, PciWindows = o.PciWindows, Costs = o.Costs });
            whatIf = new ReplayWhatIf(primary, new MachineReplayOptions
            {
                Platform = o.Platform, PciWindows = o.PciWindows, Costs = o.Costs,
                Policy = policy == ReplayPolicy.AsTraced ? ReplayPolicy.Strict : policy, IommuModel = o.IommuModel,
            });
            model = whatIf;
        }

        var ro = o.Replay ?? new ReplayOptions();
        var replayer = new TraceReplayer(new ReplayOptions
        {
            Model = model, Observer = o.Observer, Input = name, CachelineBytes = ro.CachelineBytes,
            MaxFindingsPerKind = ro.MaxFindingsPerKind, MaxMismatchesListed = ro.MaxMismatchesListed,
            MaxPhases = ro.MaxPhases, MaxProcesses = ro.MaxProcesses, ReorderWindow = ro.ReorderWindow,
        });
        bool first = true;
        using var ahead = FtraceReadAhead.Open(reader);
        while (ahead.Read())
        {
            if (first)
            {
                first = false;
                // The header (read before the first event) says how many CPUs the ring buffer had.
                int cpus = reader.Stats.Cpus > 0 ? reader.Stats.Cpus : o.Platform?.Cpus ?? DefaultCpus;
                if (primary is not null) primary.Cpus = cpus;
                if (whatIf is not null) whatIf.Cpus = cpus;
            }
            ahead.Exchange(replayer.ConsumeOwned(ahead.Current));
        }
        var report = replayer.Finish(reader.Stats);
        report.ReorderedCalls = replayer.ReorderedCalls;
        report.FloatedCalls = replayer.FloatedCalls;
        if (primary is not null)
        {
            report.Model = primary.Stats();
            report.ModelNotes = primary.Notes.ToList();
        }
        if (whatIf is not null) report.WhatIf = whatIf.Report(report.Model);
        return report;
    }
}
