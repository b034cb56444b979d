namespace DmaLab.Platform;

/// <summary>Checks a <see cref="PlatformSpec"/> for configuration errors; each is reported with its field path.</summary>
public static class PlatformValidator
{
    /// <summary>Driver models DmaLab knows, as PlatformSpec/IommuSpec.Model names them.</summary>
    public static readonly IReadOnlySet<string> IommuModels = new HashSet<string>(StringComparer.Ordinal)
    {
        "ArmSmmu", "ArmSmmuV3", "IntelVtd", "AmdIommu", "Omap", "Msm", "Exynos", "Tegra", "Rockchip", "Sun50i", "Ipmmu", "S390Iommu", "VirtioIommu", "Unknown",
    };
    public static readonly IReadOnlySet<string> Arches = new HashSet<string>(StringComparer.Ordinal) { "arm64", "arm", "x86_64", "s390x" };
    public static readonly IReadOnlySet<string> DeviceKinds = new HashSet<string>(StringComparer.Ordinal)
    {
        "generic", "gpu", "gpu-2d", "gpu-3d", "isp", "nvme", "nic", "emmc", "usb", "video", "legacy",
    };

    /// <param name="spec">the platform</param>
    /// <param name="fail">called with (field path, message); expected to throw</param>
    public static void Validate(PlatformSpec spec, Action<string, string> fail)
    {
        if (string.IsNullOrWhiteSpace(spec.Name)) fail("name", "a platform needs a name");
        if (!Arches.Contains(spec.Arch)) fail("arch", $"expected one of {string.Join(", ", Arches)}, got '{spec.Arch}'");
        if (spec.Cpus is < 1 or > 1024) fail("cpus", $"expected 1..1024, got {spec.Cpus}");
        if (spec.CacheLineSize is not (16 or 32 or 64 or 128 or 256)) fail("cacheLineSize", $"expected a power of two 16..256, got {spec.CacheLineSize}");
        if (spec.Memory.Count == 0) fail("memory", "at least one DRAM range is needed");
        for (int i = 0; i < spec.Memory.Count; i++)
        {
            var m = spec.Memory[i];
            if (m.Size == 0 || ((m.Base | m.Size) & 0xfff) != 0) fail($"memory[{i}]", "base and size must be non-zero multiples of 4 KiB");
            if (m.Base + m.Size > 1UL << 40 || m.Base + m.Size < m.Base) fail($"memory[{i}]", "range ends above the 1 TiB physical address space");
            for (int j = 0; j < i; j++)
            {
                var o = spec.Memory[j];
                if (m.Base < o.Base + o.Size && o.Base < m.Base + m.Size) fail($"memory[{i}]", $"overlaps memory[{j}]");
            }
        }
        for (int i = 0; i < spec.ReservedMemory.Count; i++)
        {
            var r = spec.ReservedMemory[i];
            string p = $"reservedMemory[{i}]";
            if (string.IsNullOrEmpty(r.Name)) fail(p, "a reserved region needs a name");
            if (r.Size == 0) fail($"{p}.size", "size must be non-zero");
            // A region outside DRAM is legal (firmware carve-outs in holes); boot notes it, as memblock ignores it.
            if (r.Base is ulong b && b + r.Size < b) fail($"{p}.base", "region wraps around the address space");
            if (r.Alignment != 0 && (r.Alignment & (r.Alignment - 1)) != 0) fail($"{p}.alignment", "must be a power of two");
        }
        if (spec.Swiotlb.Mode is not ("auto" or "force" or "noforce")) fail("swiotlb.mode", $"expected auto, force or noforce, got '{spec.Swiotlb.Mode}'");
        if (spec.Swiotlb.Mode != "noforce" && spec.Swiotlb.Size < (1UL << 18)) fail("swiotlb.size", "must be at least 256 KiB (one IO_TLB_SEGSIZE segment of 2 KiB slots)");
        if (spec.Kernel.DomainPolicy is not ("per-device" or "per-instance")) fail("kernel.domainPolicy", $"expected per-device or per-instance, got '{spec.Kernel.DomainPolicy}'");

        var iommuNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < spec.Iommus.Count; i++)
        {
            var m = spec.Iommus[i];
            string p = $"iommus[{i}]";
            if (string.IsNullOrEmpty(m.Name)) fail($"{p}.name", "an IOMMU needs a name");
            if (!iommuNames.Add(m.Name)) fail($"{p}.name", $"duplicate IOMMU name '{m.Name}'");
            if (!IommuModels.Contains(m.Model)) fail($"{p}.model", $"expected one of {string.Join(", ", IommuModels)}, got '{m.Model}'");
            if (m.Ias is < 0 or > 64 || m.Oas is < 0 or > 64) fail(p, "ias/oas must be 0 (driver default) or up to 64 bits");
        }
        var deviceNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < spec.Devices.Count; i++)
        {
            var d = spec.Devices[i];
            string p = $"devices[{i}]";
            if (string.IsNullOrEmpty(d.Name)) fail($"{p}.name", "a device needs a name");
            if (!deviceNames.Add(d.Name)) fail($"{p}.name", $"duplicate device name '{d.Name}'");
            if (d.Bus is not ("pci" or "platform")) fail($"{p}.bus", $"expected pci or platform, got '{d.Bus}'");
            if (d.DmaMask is < 12 or > 64) fail($"{p}.dmaMask", $"expected a mask width of 12..64 bits, got {d.DmaMask}");
            if (d.CoherentMask is not 0 and (< 12 or > 64)) fail($"{p}.coherentMask", $"expected 0 or 12..64 bits, got {d.CoherentMask}");
            if (!DeviceKinds.Contains(d.Kind)) fail($"{p}.kind", $"expected one of {string.Join(", ", DeviceKinds)}, got '{d.Kind}'");
            if (d.Iommu is not null && !iommuNames.Contains(d.Iommu)) fail($"{p}.iommu", $"no IOMMU named '{d.Iommu}'");
            // Rockchip, Exynos and OMAP bindings have #iommu-cells = 0; PCI host bridges carry iommu-map instead.
            if (d.Iommu is not null && d.StreamIds.Count == 0 && d.Bus == "platform" && d.IommuMap.Count == 0
                && spec.Iommus.FirstOrDefault(i => i.Name == d.Iommu) is { Cells: > 0 })
                fail($"{p}.streamIds", "a platform device behind an IOMMU with #iommu-cells > 0 needs its stream IDs");
            if (d.MemoryRegion is not null && !spec.ReservedMemory.Any(r => r.Name == d.MemoryRegion))
                fail($"{p}.memoryRegion", $"no reserved-memory region named '{d.MemoryRegion}'");
            if (d.MaxSegmentSize == 0) fail($"{p}.maxSegmentSize", "must be non-zero");
            if (d.SegmentBoundary == 0 || ((d.SegmentBoundary + 1) & d.SegmentBoundary) != 0) fail($"{p}.segmentBoundary", "must be a power of two minus one");
            if (d.Zpci is not null)
            {
                if (d.Bus != "pci") fail($"{p}.zpci", "zPCI attributes belong to PCI functions (bus: pci)");
                if (spec.Iommus.FirstOrDefault(i => i.Name == d.Iommu) is not { Model: "S390Iommu" })
                    fail($"{p}.zpci", $"zPCI attributes need the device behind an S390Iommu IOMMU (iommu: '{d.Iommu}')");
            }
            for (int j = 0; j < d.DmaRanges.Count; j++)
                if (d.DmaRanges[j].Size == 0) fail($"{p}.dmaRanges[{j}].size", "must be non-zero");
        }
    }
}
