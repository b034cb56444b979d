using DmaLab.Platform;
using DmaLab.Sim;

namespace DmaLab.Replay;

/// <summary>
/// The platform a replay what-if boots (<see cref="MachineWhatIfModel"/>): the user's platform when one was given
/// (with its IOMMUs replaced by one instance of the asked family when <c>--iommu</c> names one), else a machine of
/// the trace's IOMMU family: x86_64 q35-like memory (2 GiB below the PCI hole, 6 GiB above 4 GiB) for Intel VT-d and
/// AMD-Vi, QEMU-virt-like arm64 memory (8 GiB from 1 GiB) for the ARM SMMUs, one IOMMU instance with the driver's
/// default IOTLB geometry, 48-bit input and output addresses, per-device default domains, swiotlb as Linux sizes it
/// by default (64 MiB). Devices are not listed: the model hot-adds them as the trace names them.
/// </summary>
public static class WhatIfPlatform
{
    /// <summary>The instance name the synthesised IOMMU gets.</summary>
    public const string IommuName = "whatif-iommu0";

    public static PlatformSpec Build(PlatformSpec? given, ReplayIommuFamily family, ReplayPolicy policy, int cpus, CostModel? costs,
        bool replaceIommus, out string? iommuName, List<string> notes)
    {
        var (model, compatible, arch) = Driver(family);
        PlatformSpec s;
        if (given is not null)
        {
            s = new PlatformSpec
            {
                Name = given.Name + "-whatif", Description = given.Description, Arch = given.Arch, Cpus = given.Cpus,
                CacheLineSize = given.CacheLineSize, VmallocSize = given.VmallocSize, Memory = given.Memory,
                ReservedMemory = given.ReservedMemory, Cma = given.Cma, Swiotlb = given.Swiotlb, Kernel = given.Kernel,
                Iommus = [.. given.Iommus], Devices = [.. given.Devices.Select(Copy)], Costs = costs ?? given.Costs,
            };
            if (!replaceIommus && s.Iommus.FirstOrDefault(i => i.Enabled) is { } first)
            {
                iommuName = first.Name;
                notes.Add($"what-if on platform {given.Name}: IOMMU {first.Name} ({first.Model}); devices the platform does not list are added behind it");
            }
            else
            {
                s.Iommus = [Instance(model, compatible)];
                foreach (var d in s.Devices) d.Iommu = policy == ReplayPolicy.SwiotlbForce ? null : IommuName;
                iommuName = IommuName;
                notes.Add($"what-if on platform {given.Name} with its devices behind one {model} instance");
            }
        }
        else
        {
            // DRAM spans the whole 40-bit physical space the model can hold so every traced buffer is memory (the
            // swiotlb copies read and write it); only the first 8 GiB go to the page allocator, the rest is no-map
            // reserved memory, the way firmware-owned RAM is, so booting costs what an 8 GiB machine costs.
            ulong top = 1UL << Mm.PhysicalMemory.MaxPhysBits;
            ulong lowBase = arch == "x86_64" ? 1UL << 32 : 0x4000_0000, usable = arch == "x86_64" ? 6UL << 30 : 8UL << 30;
            var noMap = new List<ReservedMemorySpec>
            {
                new() { Name = "traced-buffers-high", Base = lowBase + usable, Size = top - lowBase - usable, NoMap = true },
            };
            if (arch != "x86_64") noMap.Add(new ReservedMemorySpec { Name = "traced-buffers-low", Base = 0, Size = lowBase, NoMap = true });
            s = new PlatformSpec
            {
                Name = "replay-whatif-" + family.Name, Description = "replay what-if machine", Arch = arch, Cpus = cpus,
                VmallocSize = arch == "x86_64" ? 32UL << 40 : 128UL << 30,
                Memory = arch == "x86_64"
                    ? [new MemorySpec { Base = 0x10_0000, Size = 0x7fe0_0000 }, new MemorySpec { Base = lowBase, Size = top - lowBase }]
                    : [new MemorySpec { Base = 0, Size = top }],
                ReservedMemory = noMap,
                Costs = costs,
            };
            s.Cma.DefaultSize = 0;
            s.Iommus = [Instance(model, compatible)];
            iommuName = IommuName;
            notes.Add($"what-if machine: {arch}, {cpus} CPU(s), one {model} IOMMU (IOTLB geometry the driver's default), memory {(arch == "x86_64" ? "q35-like, 8 GiB" : "virt-like, 8 GiB from 1 GiB")} for the page allocator, the rest of the 40-bit space no-map (the traced buffers)");
        }
        if (policy == ReplayPolicy.SwiotlbForce)
        {
            // swiotlb=force with the IOMMU off (intel_iommu=off / no SMMU): dma-direct bounces every mapping.
            s.Iommus = [];
            iommuName = null;
        }
        s.Cpus = Math.Max(1, cpus);
        s.Kernel = new KernelOptionsSpec
        {
            IommuPassthrough = s.Kernel.IommuPassthrough, IommuStrict = s.Kernel.IommuStrict, ForceDac = s.Kernel.ForceDac,
            DomainPolicy = s.Kernel.DomainPolicy, DmaDebug = false,
        };
        return s;
    }

    static DeviceSpec Copy(DeviceSpec d) => new()
    {
        Name = d.Name, Bus = d.Bus, BusId = d.BusId, Path = d.Path, Kind = d.Kind, DmaMask = d.DmaMask, CoherentMask = d.CoherentMask,
        Coherent = d.Coherent, DmaRanges = d.DmaRanges, Iommu = d.Iommu, StreamIds = [.. d.StreamIds], Untrusted = d.Untrusted,
        Bridge = d.Bridge, Acs = d.Acs, MinAlignMask = d.MinAlignMask, MaxSegmentSize = d.MaxSegmentSize,
        SegmentBoundary = d.SegmentBoundary, MemoryRegion = d.MemoryRegion, Enabled = d.Enabled, Compatible = d.Compatible,
        BusDmaLimit = d.BusDmaLimit,
    };

    static IommuSpec Instance(string model, string compatible) => new()
    {
        Name = IommuName, Model = model, Compatible = compatible, Ias = model == "VirtioIommu" ? 64 : 48, Oas = model == "VirtioIommu" ? 64 : 48,
        // QEMU's x86 virtio-iommu reports the MSI window through PROBE.
        VirtioProbeMsi = model == "VirtioIommu",
    };

    /// <summary>The DmaLab driver, compatible and architecture of a replay IOMMU family.</summary>
    static (string Model, string Compatible, string Arch) Driver(ReplayIommuFamily f)
    {
        if (ReferenceEquals(f, ReplayIommuFamily.AmdVi)) return ("AmdIommu", "amd,iommu", "x86_64");
        if (ReferenceEquals(f, ReplayIommuFamily.ArmSmmuV3)) return ("ArmSmmuV3", "arm,smmu-v3", "arm64");
        if (ReferenceEquals(f, ReplayIommuFamily.ArmSmmu)) return ("ArmSmmu", "arm,mmu-500", "arm64");
        if (ReferenceEquals(f, ReplayIommuFamily.VirtioIommu)) return ("VirtioIommu", "virtio,pci-iommu", "x86_64");
        return ("IntelVtd", "intel,vt-d", "x86_64");
    }
}
