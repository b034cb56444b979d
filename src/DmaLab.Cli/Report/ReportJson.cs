using DmaLab.Analysis;

namespace DmaLab.Cli.Report;

/// <summary>report.json (`dmalab run --json`, docs/schema/run.schema.json): the RunReport as camelCase JSON, every
/// finding listed (each with its workload and variant) as replay's are, series as [x, y] pairs.</summary>
public static class ReportJson
{
    public static string Render(RunReport r) => JsonOut.Serialize(new
    {
        tool = r.Tool,
        platform = r.Platform,
        platformSource = r.PlatformSource,
        seed = r.Seed,
        findingCount = r.FindingCount,
        findings = r.Workloads.SelectMany(w => w.Findings.Select(f => Finding(f, w))),
        // named "name" as replay's devices are
        devices = r.Devices.Select(d => new { name = d.Device, ops = d.Ops, domain = d.Domain, group = d.Group, reason = d.Reason, flushQueue = d.FlushQueue }),
        workloads = r.Workloads.Select(w => new
        {
            name = w.Name,
            variant = w.Variant,
            description = w.Description,
            metrics = w.Metrics.ToDictionary(m => m.Name, m => new { value = m.Value, unit = m.Unit }),
            findings = w.Findings.Select(f => Finding(f, null)),
            expected = w.Expected.Select(f => Finding(f, null)),
            notes = w.Notes,
            series = w.Series.ToDictionary(s => s.Key, s => s.Value.Select(p => new[] { p.X, p.Y })),
        }),
        notes = r.Notes,
    });

    static RunFinding Finding(Finding f, WorkloadResult? w) =>
        new(f.Kind, f.Device, HexJson.Format(f.Address), f.Message, w?.Name, w?.Variant);

    sealed record RunFinding(string Kind, string Device, string Address, string Message, string? Workload, string? Variant);
}
