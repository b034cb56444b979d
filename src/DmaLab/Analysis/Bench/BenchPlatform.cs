using DmaLab.Platform;

namespace DmaLab.Analysis.Bench;

/// <summary>
/// The small platforms the bench boots: 1 GiB of DRAM at 2 GiB (arm64), one PCI master with a 64-bit mask, dma-debug
/// off as in a production kernel, and optionally an ARM SMMU in front of the master.
/// </summary>
internal static class BenchPlatform
{
    public const ulong DramBase = 0x8000_0000;
    public const ulong DramSize = 1UL << 30;
    public const string MasterName = "0000:00:04.0";

    /// <summary>No IOMMU; swiotlb=force is the boot option's business (<see cref="MachineOptions.SwiotlbForce"/>).</summary>
    public static PlatformSpec Direct()
    {
        var p = new PlatformSpec
        {
            Name = "bench-direct",
            Arch = "arm64",
            Cpus = 1,
            Memory = { new MemorySpec { Base = DramBase, Size = DramSize } },
            Cma = new CmaSpec { DefaultSize = 0 },
            Swiotlb = new SwiotlbSpec { Mode = "noforce", Areas = 1 },
            Kernel = new KernelOptionsSpec { DmaDebug = false },
        };
        p.Devices.Add(Master(iommu: null));
        return p;
    }

    /// <summary>An SMMU (v3, or v2/MMU-500 when <paramref name="smmuV2"/>) in front of the master; strict unless the
    /// boot's <see cref="MachineOptions.Policy"/> says otherwise.</summary>
    public static PlatformSpec Iommu(bool smmuV2)
    {
        var p = new PlatformSpec
        {
            Name = "bench-smmu",
            Arch = "arm64",
            Cpus = 1,
            Memory = { new MemorySpec { Base = DramBase, Size = DramSize } },
            Cma = new CmaSpec { DefaultSize = 0 },
            Swiotlb = new SwiotlbSpec { Mode = "noforce" },
            Kernel = new KernelOptionsSpec { DmaDebug = false, IommuStrict = true },
        };
        p.Iommus.Add(smmuV2
            ? new IommuSpec { Name = "smmu", Model = "ArmSmmu", Compatible = "arm,mmu-500" }
            : new IommuSpec { Name = "smmu", Model = "ArmSmmuV3", Compatible = "arm,smmu-v3" });
        p.Devices.Add(Master(iommu: "smmu"));
        return p;
    }

    static DeviceSpec Master(string? iommu) => new()
    {
        Name = MasterName, Bus = "pci", BusId = MasterName, DmaMask = 64, Coherent = true, Iommu = iommu,
    };
}
