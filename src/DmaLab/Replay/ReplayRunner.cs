using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>
/// One-call replay for the CLI: streams a capture (ftrace text or a trace-cmd .dat, plain, .xz or .gz; see
/// <see cref="TraceSource"/>) through the <see cref="TraceReplayer"/>
/// with a <see cref="MachineReplayModel"/> (fidelity against the kernel's addresses), optionally a what-if
/// (<see cref="ReplayWhatIf"/>) and an observer (the CLI's timeline), in constant memory. Bad input throws
/// <see cref="TraceFormatException"/> with a one-line message.
/// </summary>
public static class ReplayRunner
{
    /// <summary>CPUs assumed when the trace has no "#P:N" header (trace_pipe output) and no platform says.</summary>
    public const int DefaultCpus = 64;

    /// <summary>Most CPUs the model boots, as for a platform file (<see cref="Platform.PlatformValidator.MaxCpus"/>):
    /// each possible CPU holds per-CPU IOVA caches and flush queues. A "#P:N" header beyond it (Linux allows up to
    /// 8192, MAXSMP; a mutated header says anything) is not used: the replay assumes the platform's CPUs or
    /// <see cref="DefaultCpus"/> and says so in the model notes.</summary>
    public const int MaxCpus = Platform.PlatformValidator.MaxCpus;

    /// <summary>The streaming DMA mask of each device the platform lists (by name and bus id), for the validator.</summary>
    static Func<string, ulong>? StatedMasks(Platform.PlatformSpec? platform)
    {
        if (platform is null || platform.Devices.Count == 0) return null;
        var masks = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var d in platform.Devices)
        {
            ulong mask = d.DmaMask is > 0 and < 64 ? (1UL << d.DmaMask) - 1 : ulong.MaxValue;
            masks.TryAdd(d.Name, mask);
            if (d.BusId is { Length: > 0 } b) masks.TryAdd(b, mask);
        }
        return name => masks.GetValueOrDefault(name, ulong.MaxValue);
    }

    public static ReplayReport Run(Stream input, string name, ReplayRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = options ?? new ReplayRunOptions();
        using var source = TraceSource.Open(input, name, new FtraceReaderOptions { Progress = o.Progress, ReadAhead = o.ReadAhead });

        var log = o.KernelLog;
        var pciWindows = o.PciWindows.Count > 0 || log is null ? o.PciWindows : log.PciWindows;
        var traced = new MachineReplayOptions
        {
            Platform = o.Platform, PciWindows = pciWindows, Costs = o.Costs,
            IommuModel = ReplayIommuFamily.FromName(log?.IommuKind?.Value)?.Name,
            Strict = log is null ? null : log.StrictDueToVirtualization is not null ? true : log.Strict?.Value,
            Swiotlb = ReplayPlatformFacts.SwiotlbFromLog(log, o.Platform?.Swiotlb),
            Hz = log?.Hz?.Value ?? 250, Resync = o.Resync,
        };
        MachineReplayModel? primary = o.NoModel ? null : new MachineReplayModel(traced);
        IReplayModel? model = primary;
        ReplayWhatIf? whatIf = null;
        var policy = o.Policy ?? ReplayPolicy.AsTraced;
        if (policy != ReplayPolicy.AsTraced || o.IommuModel is not null)
        {
            if (o.IommuModel is not null && ReplayIommuFamily.FromName(o.IommuModel) is null)
                throw new ArgumentException($"unknown IOMMU model '{o.IommuModel}'; expected one of {string.Join(", ", ReplayIommuFamily.Names)}");
            primary ??= new MachineReplayModel(traced);
            whatIf = new ReplayWhatIf(primary, new MachineReplayOptions
            {
                Platform = o.Platform, PciWindows = pciWindows, Costs = o.Costs, Hz = traced.Hz,
                Policy = policy == ReplayPolicy.AsTraced ? ReplayPolicy.Strict : policy, IommuModel = o.IommuModel,
            });
            model = whatIf;
        }

        var ro = o.Replay ?? new ReplayOptions();
        IommuLayerReplay? layer = o.NoModel ? null : new IommuLayerReplay(new IommuLayerReplay.Options
        {
            Family = ReplayIommuFamily.FromName(log?.IommuKind?.Value) ?? ReplayIommuFamily.FromName(o.Platform?.Iommus.FirstOrDefault(i => i.Enabled)?.Model)
                     ?? ReplayIommuFamily.IntelVtd,
            PciWindows = pciWindows, Lazy = traced.Strict is bool st ? !st : o.Platform is { } pl && !pl.Kernel.IommuStrict,
            Kernel = log?.KernelVersion?.Value, Hz = traced.Hz, MaxMismatchesListed = ro.MaxMismatchesListed,
        });
        var replayer = new TraceReplayer(new ReplayOptions
        {
            Model = model, Observer = o.Observer, Input = name, CachelineBytes = ro.CachelineBytes,
            MaxFindingsPerKind = ro.MaxFindingsPerKind, MaxMismatchesListed = ro.MaxMismatchesListed,
            MaxPhases = ro.MaxPhases, MaxProcesses = ro.MaxProcesses, ReorderWindow = ro.ReorderWindow, IommuLayer = layer,
            ExplainLine = ro.ExplainLine,
            Filter = ro.Filter, LeakAgeFactor = ro.LeakAgeFactor, LeakMinUnmaps = ro.LeakMinUnmaps,
            Validator = ro.Validator ?? new TraceRecordValidator(StatedMasks(o.Platform)),
        });
        bool first = true;
        string? cpuNote = null;
        while (source.Read())
        {
            if (first)
            {
                first = false;
                // The header (read before the first event) says how many CPUs the ring buffer had.
                int cpus = source.Stats.Cpus is > 0 and <= MaxCpus ? source.Stats.Cpus : o.Platform?.Cpus ?? DefaultCpus;
                if (source.Stats.Cpus > MaxCpus)
                    cpuNote = $"the trace header says #P:{source.Stats.Cpus}, beyond the {MaxCpus} CPUs the model boots: replayed with {cpus}";
                if (primary is not null) primary.Cpus = cpus;
                if (whatIf is not null) whatIf.Cpus = cpus;
                if (layer is not null) layer.Cpus = cpus;
            }
            source.Exchange(replayer.ConsumeOwned(source.Current));
        }
        var report = replayer.Finish(source.Stats);
        if (layer is not null && replayer.IommuLayerFed && report.Fidelity.Compared == 0)
        {
            // No dma:* events: the IOMMU layer is what the replay can compare.
            report.IommuLayer = layer.Finish();
            var f = report.Fidelity;
            f.Model = "IOMMU layer (iommu:map attributed to the DMA domain whose IOVA allocator predicts it)";
            f.Compared = layer.Compared;
            f.Matched = layer.Matched;
            f.FirstMismatches.AddRange(layer.Mismatches);
        }
        if (primary is not null)
        {
            report.Model = primary.Stats();
            report.ModelNotes = primary.Notes.ToList();
            if (cpuNote is not null) report.ModelNotes.Insert(0, cpuNote);
        }
        if (whatIf is not null) report.WhatIf = whatIf.Report(report.Model);
        report.Facts = ReplayPlatformFacts.Build(report, o, primary, source.Stats.Cpus is > 0 and <= MaxCpus ? source.Stats.Cpus : 0);
        if (log is not null) report.KernelLog = new ReplayKernelLogSummary(log.Input, log.Lines, log.KernelLines, log.FactLines);
        return report;
    }
}
