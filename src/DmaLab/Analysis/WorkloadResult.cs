namespace DmaLab.Analysis;

/// <summary>What one workload run produced, rendered by the CLI into the summary table, report.json and report.html.</summary>
public sealed class WorkloadResult
{
    public string Name { get; init; } = "";
    public string Description { get; init; } = "";
    /// <summary>Variant, e.g. the policy ("strict", "lazy", "passthrough") or "buggy"; empty when there is one.</summary>
    public string Variant { get; init; } = "";
    public List<Metric> Metrics { get; } = new();
    public List<Finding> Findings { get; } = new();
    /// <summary>Events the workload provoked on purpose and that behaved as they should (the isolation probes'
    /// IOMMU faults): reported as expected, never counted among <see cref="Findings"/>.</summary>
    public List<Finding> Expected { get; } = new();
    public List<string> Notes { get; } = new();
    /// <summary>Optional series for plots: name → (x, y) points in order.</summary>
    public Dictionary<string, List<(double X, double Y)>> Series { get; } = new(StringComparer.Ordinal);

    public WorkloadResult Add(string name, double value, string unit) { Metrics.Add(new Metric(name, value, unit)); return this; }
}
