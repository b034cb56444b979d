namespace DmaLab.Platform.KernelLog;

/// <summary>
/// What a kernel log says about the machine's DMA setup, each fact with the line it came from (see
/// <see cref="KernelLogReader"/> for the printk each one is read from). Null means the log does not say.
/// </summary>
public sealed class KernelLogFacts
{
    public string Input { get; init; } = "";
    /// <summary>Lines read.</summary>
    public long Lines { get; set; }
    /// <summary>Lines with a kernel-log prefix (dmesg timestamp, journal "host kernel:", /dev/kmsg record).</summary>
    public long KernelLines { get; set; }
    /// <summary>Lines that gave a fact.</summary>
    public long FactLines { get; set; }

    /// <summary>`uname -r` of the logged kernel ("Linux version 6.12.117+deb12-amd64 (...)").</summary>
    public KernelLogFact<string>? KernelRelease { get; set; }
    /// <summary>Major, minor and patch level parsed from <see cref="KernelRelease"/>.</summary>
    public KernelLogFact<Version>? KernelVersion { get; set; }
    public KernelLogFact<string>? CommandLine { get; set; }

    /// <summary>The IOMMU family the log names: intel-vtd, amd-vi, virtio-iommu, arm-smmu or arm-smmu-v3.</summary>
    public KernelLogFact<string>? IommuKind { get; set; }
    /// <summary>The family's version/capability words as printed (VT-d "ver 1:0 cap ... ecap ...", AMD-Vi EFR, SMMUv2,
    /// SMMUv3 ias/oas, virtio-iommu input bits and page mask).</summary>
    public KernelLogFact<string>? IommuVersion { get; set; }
    /// <summary>"Translated", "Passthrough" ... (iommu_subsys_init(): "Default domain type: %s").</summary>
    public KernelLogFact<string>? DefaultDomainType { get; set; }
    /// <summary>iommu_subsys_init(): "DMA domain TLB invalidation policy: strict|lazy mode".</summary>
    public KernelLogFact<bool>? Strict { get; set; }
    /// <summary>The policy line's "(set via kernel command line)".</summary>
    public bool StrictFromCommandLine { get; set; }
    /// <summary>The driver forced strict because the IOMMU is virtualised: AMD-Vi "Using strict mode due to
    /// virtualization" (the NpCache capability), VT-d "IOMMU batching disallowed due to virtualization" (caching
    /// mode). Printed after the policy line, so it wins over it.</summary>
    public KernelLogFact<string>? StrictDueToVirtualization { get; set; }
    /// <summary>virtio-iommu config space as the driver printed it (viommu_probe()).</summary>
    public KernelLogFact<int>? VirtioIommuInputBits { get; set; }
    public KernelLogFact<ulong>? VirtioIommuPageMask { get; set; }

    /// <summary>The default swiotlb pool, [Start, End) (swiotlb_print_info(): "mapped [mem %pa-%pa]").</summary>
    public KernelLogFact<(ulong Start, ulong End)>? SwiotlbPool { get; set; }
    /// <summary>swiotlb's "area num %d."</summary>
    public KernelLogFact<int>? SwiotlbAreas { get; set; }
    /// <summary>"software IO TLB: No low mem": no default pool.</summary>
    public KernelLogFact<bool>? SwiotlbNoPool { get; set; }

    /// <summary>PCI host bridge memory windows ("pci_bus ...: root bus resource [mem ...]"), CPU addresses with the
    /// offset to bus addresses, distinct, in order of appearance.</summary>
    public List<(ulong Start, ulong End, ulong Offset)> PciWindows { get; } = new();
    public long PciWindowsLine { get; set; }

    /// <summary>CONFIG_HZ as far as the log shows it (RCU's scheduler-enlistment delay is HZ/10 jiffies plus
    /// nr_cpu_ids/256), or a CONFIG_HZ= line of a config dump in the same file.</summary>
    public KernelLogFact<int>? Hz { get; set; }
    /// <summary>nr_cpu_ids ("RCU restricting CPUs from NR_CPUS=%d to nr_cpu_ids=%u.").</summary>
    public KernelLogFact<int>? PossibleCpus { get; set; }

    /// <summary>"Adding to iommu group N" lines: device name and group, in boot order.</summary>
    public List<(string Device, int Group, long Line)> IommuGroups { get; } = new();
}
