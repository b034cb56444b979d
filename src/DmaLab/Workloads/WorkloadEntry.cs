using DmaLab.Analysis;

namespace DmaLab.Workloads;

/// <summary>
/// One catalog workload: its stable name, what it shows, the policies it runs under by default (one fresh machine
/// per policy) and the runner over a booted machine. A runner may return several results (variants such as a
/// buggy and a correct driver); it reports a platform that lacks what it needs in a note instead of failing.
/// </summary>
public sealed record WorkloadEntry(string Name, string Description, IReadOnlyList<string> Policies,
    Func<WorkloadContext, ulong, IReadOnlyList<WorkloadResult>> Run)
{
    /// <summary>True when the workload's results change with the IOMMU policy (so `dmalab compare` makes sense).</summary>
    public bool PolicySensitive => Policies.Count > 1;
}
