using DmaLab.Platform;
using DmaLab.Sim;

namespace DmaLab.Replay;

/// <summary>Configuration of a <see cref="MachineReplayModel"/>.</summary>
public sealed class MachineReplayOptions
{
    /// <summary>The machine the trace ran on, when known (device masks, min_align_mask, segment limits, swiotlb pool
    /// base/size/areas, the IOMMU model, CPUs, cost model); null = everything inferred from the trace.</summary>
    public PlatformSpec? Platform { get; init; }
    public ReplayPolicy Policy { get; init; } = ReplayPolicy.AsTraced;
    /// <summary>IOMMU family name (<see cref="ReplayIommuFamily.Names"/>) to put the translated devices behind, or,
    /// with a what-if policy, every device; null = inferred.</summary>
    public string? IommuModel { get; init; }
    /// <summary>Possible CPUs (the trace header's #P:N); per-CPU IOVA caches and swiotlb areas follow it.</summary>
    public int Cpus { get; set; } = 1;
    /// <summary>PCI host bridge memory windows (bus addresses) iommu-dma keeps out of every PCI device's IOVA space
    /// (Linux: iova_reserve_pci_windows()); the x86/arm64 dmesg "root bus resource [mem ...]" lines.</summary>
    public IReadOnlyList<(ulong Start, ulong End, ulong Offset)> PciWindows { get; init; } = [];
    public CostModel? Costs { get; init; }
    /// <summary>The invalidation policy the kernel log states (strict = true); wins over the platform and the
    /// trace's evidence. Null = not stated.</summary>
    public bool? Strict { get; init; }
    /// <summary>The swiotlb pool the kernel log states (base, size, areas); wins over the platform's.</summary>
    public SwiotlbSpec? Swiotlb { get; init; }
    /// <summary>CONFIG_HZ of the traced kernel (the kernel log's, else 250): the flush-queue timer's tick grid
    /// (Debian's x86 and arm64 kernels: 250) and the IOVA depot delay.</summary>
    public int Hz { get; init; } = 250;
    /// <summary>Replaying as traced, an allocation whose own address the trace refutes takes the kernel's range when
    /// it is free in the model, so one wrong decision costs one address rather than every later one of its size class
    /// (<see cref="DmaIommu.IommuDmaIovaAllocator.Steer"/>). Off: every address rests on the model's own state alone.</summary>
    public bool Resync { get; init; } = true;
}
