using DmaLab.Platform;
using DmaLab.Workloads;

namespace DmaLab.Analysis;

/// <summary>One policy's column of a what-if matrix: the results of the workload under that policy.</summary>
public sealed record PolicyComparisonRow(string Policy, IReadOnlyList<WorkloadResult> Results)
{
    /// <summary>The metric's value in the first result that has it (the workload's main result), or null.</summary>
    public double? Value(string metric)
    {
        foreach (var r in Results)
            foreach (var m in r.Metrics)
                if (m.Name == metric) return m.Value;
        return null;
    }
}

/// <summary>
/// The what-if matrix of `dmalab compare --workload W --policy strict,lazy,passthrough,swiotlb-force`: the same
/// workload, same seed, on a freshly booted machine per policy, with the metrics side by side (one row per policy,
/// metrics in the order the workload first reports them).
/// </summary>
public sealed class PolicyComparison
{
    PolicyComparison(string workload, string platform, ulong seed, List<PolicyComparisonRow> rows, List<(string Name, string Unit)> metrics)
    {
        Workload = workload; Platform = platform; Seed = seed; Rows = rows; Metrics = metrics;
    }

    public string Workload { get; }
    public string Platform { get; }
    public ulong Seed { get; }
    public IReadOnlyList<PolicyComparisonRow> Rows { get; }
    /// <summary>Every metric any row reported, with its unit, in first-seen order.</summary>
    public IReadOnlyList<(string Name, string Unit)> Metrics { get; }

    /// <summary>The value of <paramref name="metric"/> under <paramref name="policy"/>, or null.</summary>
    public double? Value(string policy, string metric) => Rows.FirstOrDefault(r => r.Policy == policy)?.Value(metric);

    /// <summary>Runs <paramref name="workload"/> under each of <paramref name="policies"/> (see <see cref="WorkloadPolicy.All"/>).
    /// Unknown workload or policy names are bad input and throw naming the accepted ones.</summary>
    public static PolicyComparison Run(PlatformSpec spec, string workload, IReadOnlyList<string> policies, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var entry = WorkloadCatalog.Get(workload);
        if (policies.Count == 0) throw new ArgumentException($"no policy given: expected some of {string.Join(", ", WorkloadPolicy.All)}", nameof(policies));
        foreach (var p in policies)
            if (!WorkloadPolicy.IsKnown(p)) throw new ArgumentException($"unknown policy '{p}': expected one of {string.Join(", ", WorkloadPolicy.All)}", nameof(policies));
        var rows = new List<PolicyComparisonRow>();
        var metrics = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in policies.Distinct())
        {
            var results = WorkloadCatalog.Run(entry, spec, seed, p);
            rows.Add(new PolicyComparisonRow(p, results));
            foreach (var r in results)
                foreach (var m in r.Metrics)
                    if (seen.Add(m.Name)) metrics.Add((m.Name, m.Unit));
        }
        return new PolicyComparison(workload, spec.Name, seed, rows, metrics);
    }
}
