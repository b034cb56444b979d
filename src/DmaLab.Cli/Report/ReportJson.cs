using DmaLab.Analysis;

namespace DmaLab.Cli.Report;

/// <summary>report.json: the RunReport as camelCase JSON, series as [x, y] pairs.</summary>
public static class ReportJson
{
    public static string Render(RunReport r) => JsonOut.Serialize(new
    {
        tool = r.Tool,
        platform = r.Platform,
        platformSource = r.PlatformSource,
        seed = r.Seed,
        findings = r.FindingCount,
        devices = r.Devices,
        workloads = r.Workloads.Select(w => new
        {
            name = w.Name,
            variant = w.Variant,
            description = w.Description,
            metrics = w.Metrics.ToDictionary(m => m.Name, m => new { value = m.Value, unit = m.Unit }),
            findings = w.Findings,
            expected = w.Expected,
            notes = w.Notes,
            series = w.Series.ToDictionary(s => s.Key, s => s.Value.Select(p => new[] { p.X, p.Y })),
        }),
        notes = r.Notes,
    });
}
