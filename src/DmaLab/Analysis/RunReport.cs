namespace DmaLab.Analysis;

/// <summary>Everything a `dmalab run` produced: the platform, how each device was set up, and every workload's result.</summary>
public sealed class RunReport
{
    public string Tool { get; init; } = "dmalab";
    public string Platform { get; init; } = "";
    public string PlatformSource { get; init; } = "";
    public ulong Seed { get; init; }
    /// <summary>Per-device DMA setup: which dma_map_ops, which domain, and why (arch_setup_dma_ops).</summary>
    public List<DeviceSetup> Devices { get; } = new();
    public List<WorkloadResult> Workloads { get; } = new();
    public List<string> Notes { get; } = new();
    public int FindingCount => Workloads.Sum(w => w.Findings.Count);
}

/// <summary>How one device was set up at boot.</summary>
public sealed record DeviceSetup(string Device, string Ops, string Domain, string Group, string Reason)
{
    /// <summary>The flush queue when the device's domain is lazy (DMA_FQ); null for strict or untranslated devices.</summary>
    public DeviceFlushQueue? FlushQueue { get; init; }
}
