using DmaLab.Platform;

namespace DmaLab.Workloads;

/// <summary>
/// Boots a fresh <see cref="Machine"/> for one workload run under one policy and wraps it as a
/// <see cref="WorkloadContext"/>. Every run gets its own memory, IOMMUs, clock and seeded state, so runs never
/// influence each other and the same seed gives the same metrics.
/// </summary>
public static class WorkloadBoot
{
    public static WorkloadContext Boot(PlatformSpec spec, string policy, ulong seed)
        => WorkloadContext.From(Machine.Boot(spec, Options(policy, seed)), policy);

    /// <summary>The machine options of a policy name (see <see cref="WorkloadPolicy"/>).</summary>
    public static MachineOptions Options(string policy, ulong seed) => policy switch
    {
        WorkloadPolicy.Strict => new MachineOptions { Seed = seed, Policy = IommuPolicy.Strict },
        WorkloadPolicy.Lazy => new MachineOptions { Seed = seed, Policy = IommuPolicy.Lazy },
        WorkloadPolicy.Passthrough => new MachineOptions { Seed = seed, Policy = IommuPolicy.Passthrough },
        WorkloadPolicy.SwiotlbForce => new MachineOptions { Seed = seed, Policy = IommuPolicy.Passthrough, SwiotlbForce = true },
        WorkloadPolicy.Platform => new MachineOptions { Seed = seed },
        _ => throw new ArgumentException($"unknown policy '{policy}': expected one of {string.Join(", ", WorkloadPolicy.All)}", nameof(policy)),
    };
}
