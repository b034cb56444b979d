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

    /// <summary>Most CPUs a modelled machine has (each holds per-CPU IOVA caches, flush queues, swiotlb areas).</summary>
    public const int MaxCpus = 1024;

    /// <summary>Most DRAM the page allocator of a modelled machine manages (see the check in <see cref="Validate"/>).</summary>
    public const ulong MaxManagedDram = 64UL << 30;
    /// <summary>DRAM boot needs left after its reservations (page tables, command queues, the kernel's allocations).</summary>
    public const ulong MinFreeDram = 16UL << 20;

    /// <summary>Widest ID of a driver model: PCI requester IDs are 16 bits (bus, devfn) for VT-d and AMD-Vi; the
    /// device-tree IOMMUs take 32-bit firmware IDs (an SMMUv2 ID carries its SMR mask in the upper half).</summary>
    static ulong MaxStreamId(string model) => model is "IntelVtd" or "AmdIommu" ? 0xffff : uint.MaxValue;

    /// <summary>Bytes of [base, base+size) that lie in DRAM.</summary>
    static ulong Overlap(PlatformSpec spec, ulong b, ulong size)
    {
        ulong sum = 0, end = b + size < b ? ulong.MaxValue : b + size;
        foreach (var m in spec.Memory)
        {
            ulong lo = Math.Max(b, m.Base), hi = Math.Min(end, m.Base + m.Size);
            if (hi > lo) sum += hi - lo;
        }
        return sum;
    }

    /// <param name="spec">the platform</param>
    /// <param name="fail">called with (field path, message); expected to throw</param>
    public static void Validate(PlatformSpec spec, Action<string, string> fail)
    {
        if (string.IsNullOrWhiteSpace(spec.Name)) fail("name", "a platform needs a name");
        if (!Arches.Contains(spec.Arch)) fail("arch", $"expected one of {string.Join(", ", Arches)}, got '{spec.Arch}'");
        if (spec.Cpus is < 1 or > MaxCpus) fail("cpus", $"expected 1..{MaxCpus}, got {spec.Cpus}");
        if (spec.CacheLineSize is not (16 or 32 or 64 or 128 or 256)) fail("cacheLineSize", $"expected a power of two 16..256, got {spec.CacheLineSize}");
        // The kernel's vmalloc area holds the DMA remaps (Linux: VMALLOC_START..VMALLOC_END); boot places its
        // window in the 47-bit kernel half, so it is page-granular and at most 64 TiB.
        if (spec.VmallocSize < 1UL << 20 || spec.VmallocSize > 1UL << 46 || (spec.VmallocSize & 0xfff) != 0)
            fail("vmallocSize", $"expected a multiple of 4 KiB from 1 MiB to 64 TiB, got {spec.VmallocSize}");
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
        // Simulated DRAM holds real bytes sparsely, but the page allocator keeps per-page state for what it manages
        // (about 6.4 MB of host memory per GiB): no-map reserved memory is not managed and costs nothing.
        ulong managed = 0;
        foreach (var m in spec.Memory) managed += m.Size;
        foreach (var r in spec.ReservedMemory)
            if (r.NoMap && r.Base is ulong nb) managed -= Math.Min(managed, Overlap(spec, nb, r.Size));
        if (managed > MaxManagedDram)
            fail("memory", $"{managed >> 30} GiB of DRAM for the page allocator; the model manages at most {MaxManagedDram >> 30} GiB " +
                           "(about 6.4 MB of host memory per GiB); mark firmware-owned ranges noMap in reservedMemory");
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
        if (spec.Swiotlb.Size % 2048 != 0 || spec.Swiotlb.Size > 1UL << 36) fail("swiotlb.size", $"expected a multiple of 2 KiB (IO_TLB_SIZE) up to 64 GiB, got {spec.Swiotlb.Size}");
        if (spec.Swiotlb.Areas is < 0 or > 1024) fail("swiotlb.areas", $"expected 0 (one per CPU) to 1024, got {spec.Swiotlb.Areas}");
        if (spec.Swiotlb.Base is ulong sbase && spec.Swiotlb.Mode != "noforce"
            && (sbase % 4096 != 0 || !spec.Memory.Any(m => sbase >= m.Base && sbase - m.Base <= m.Size && spec.Swiotlb.Size <= m.Size - (sbase - m.Base))))
            fail("swiotlb.base", $"the {spec.Swiotlb.Size >> 20} MiB pool at 0x{sbase:x} must be page aligned and inside one DRAM range");
        // What boot takes before the first driver runs: static and dynamic reserved regions, the default CMA area
        // and the swiotlb pool; the rest must hold page tables, queues and the kernel's own allocations.
        ulong taken = spec.Cma.DefaultSize + (spec.Swiotlb.Mode == "noforce" ? 0 : spec.Swiotlb.Size);
        foreach (var r in spec.ReservedMemory)
            if (!r.NoMap) taken += r.Base is ulong rb ? Overlap(spec, rb, r.Size) : r.Size;
        if (managed < MinFreeDram || managed - MinFreeDram < taken)
            fail("memory", $"{managed >> 20} MiB of DRAM for the page allocator, {taken >> 20} MiB of it reserved at boot (CMA, swiotlb, reserved regions); boot needs {MinFreeDram >> 20} MiB more");
        if (spec.Cma.OrderPerBit is < 0 or > 10) fail("cma.orderPerBit", $"expected 0..10 (MAX_PAGE_ORDER), got {spec.Cma.OrderPerBit}");
        if (spec.Cma.DefaultSize % 4096 != 0 || spec.Cma.DefaultSize > managed) fail("cma.defaultSize", $"expected a multiple of 4 KiB within DRAM, got {spec.Cma.DefaultSize}");
        if (spec.Kernel.DomainPolicy is not ("per-device" or "per-instance")) fail("kernel.domainPolicy", $"expected per-device or per-instance, got '{spec.Kernel.DomainPolicy}'");

        var iommuNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < spec.Iommus.Count; i++)
        {
            var m = spec.Iommus[i];
            string p = $"iommus[{i}]";
            if (string.IsNullOrEmpty(m.Name)) fail($"{p}.name", "an IOMMU needs a name");
            if (!iommuNames.Add(m.Name)) fail($"{p}.name", $"duplicate IOMMU name '{m.Name}'");
            if (!IommuModels.Contains(m.Model)) fail($"{p}.model", $"expected one of {string.Join(", ", IommuModels)}, got '{m.Model}'");
            if (m.Ias is not 0 and (< 32 or > 64)) fail($"{p}.ias", $"expected 0 (driver default) or 32..64 bits, got {m.Ias}");
            if (m.Oas is not 0 and (< 32 or > 64)) fail($"{p}.oas", $"expected 0 (driver default) or 32..64 bits, got {m.Oas}");
            // The LPAE formats encode the output size as a PARange value (io-pgtable-arm.c arm_lpae_alloc_pgtable_s1():
            // 32, 36, 40, 42, 44 or 48 bits; wider sizes are cut to 48); the short-descriptor formats (v7s) are 32-bit.
            if (m.Model is "ArmSmmu" or "ArmSmmuV3" or "Ipmmu" && m.Oas is not (0 or 32 or 36 or 40 or 42 or 44 or >= 48))
                fail($"{p}.oas", $"expected 0 (driver default), 32, 36, 40, 42, 44 or 48 and up (an LPAE PARange), got {m.Oas}");
            if (m.Model is "Msm" or "Sun50i" && (m.Ias is not (0 or 32) || m.Oas is not (0 or 32)))
                fail($"{p}.{(m.Ias is not (0 or 32) ? "ias" : "oas")}", $"short-descriptor (ARMv7s) tables take 32-bit input and output addresses, got ias {m.Ias}, oas {m.Oas}");
            // The 64-bit formats take table pages from anywhere in DRAM and refuse one the walker cannot reach
            // (io-pgtable-arm.c: "Cannot accommodate DMA translation for IOMMU page tables"): all of DRAM must be
            // below 2^oas, or the domains of this IOMMU cannot be built.
            if (m.Oas is > 0 and < 64 && m.Model is "ArmSmmu" or "ArmSmmuV3" or "IntelVtd" or "AmdIommu" or "Ipmmu"
                && spec.Memory.Count > 0 && spec.Memory.Max(r => r.Base + r.Size) > 1UL << m.Oas)
                fail($"{p}.oas", $"DRAM ends at 0x{spec.Memory.Max(r => r.Base + r.Size):x}, beyond the {m.Oas}-bit output address the table walker reaches");
            // pgsize_bitmap: its smallest page size is the IOVA granule, which iommu-dma needs no larger than the
            // kernel's 4 KiB PAGE_SIZE (init_iova_domain()): 4 KiB and larger sizes only.
            if (m.PgsizeBitmap != 0 && (m.PgsizeBitmap & 0x1fff) != 0x1000)
                fail($"{p}.pgsizeBitmap", $"expected 0 (driver default) or page sizes of 4 KiB and up, 4 KiB included (the IOVA granule), got 0x{m.PgsizeBitmap:x}");
            if (m.ContextBanks is < 0 or > 128) fail($"{p}.contextBanks", $"expected 0 (driver default) to 128 (ARM_SMMU_MAX_CBS), got {m.ContextBanks}");
            if (m.IotlbEntries is < 0 or > 1 << 16) fail($"{p}.iotlbEntries", $"expected 0 (driver default) to 65536, got {m.IotlbEntries}");
            if (m.IotlbWays < 0 || m.IotlbWays > Math.Max(1, m.IotlbEntries == 0 ? 1 << 16 : m.IotlbEntries)) fail($"{p}.iotlbWays", $"expected 0 (driver default) to iotlbEntries, got {m.IotlbWays}");
            if (IommuModels.Contains(m.Model))
            {
                var geo = Iommu.Drivers.IommuDriverFactory.DefaultIotlb(m.Model);
                int entries = m.IotlbEntries != 0 ? m.IotlbEntries : geo.Entries, ways = m.IotlbWays != 0 ? m.IotlbWays : geo.Ways;
                if (ways <= 0 || entries % ways != 0 || !int.IsPow2(entries / ways))
                    fail($"{p}.iotlbEntries", $"an IOTLB of {entries} entries and {ways} ways: expected entries = ways × a power-of-two number of sets");
            }
            if (m.Cells is < 0 or > 4) fail($"{p}.cells", $"expected #iommu-cells 0..4, got {m.Cells}");
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
            if (d.MaxSegmentSize is 0 or > uint.MaxValue) fail($"{p}.maxSegmentSize", $"expected 1..0xffffffff (dma_set_max_seg_size() takes an unsigned int), got {d.MaxSegmentSize}");
            if (((d.MinAlignMask + 1) & d.MinAlignMask) != 0 || d.MinAlignMask > 0xffff_ffff) fail($"{p}.minAlignMask", $"expected a power of two minus one below 4 GiB, got 0x{d.MinAlignMask:x}");
            if (d.Bus == "pci" && !Devices.PciBdf.TryParse(d.BusId, out _) && !Devices.PciBdf.TryParse(d.Name, out _))
                fail($"{p}.busId", $"a PCI device needs a bus id like 0000:00:04.0 in busId or name, got '{d.BusId ?? d.Name}'");
            if (d.Iommu is not null && spec.Iommus.FirstOrDefault(i => i.Name == d.Iommu) is { } behind)
                foreach (uint sid in d.StreamIds)
                    if (sid > MaxStreamId(behind.Model)) { fail($"{p}.streamIds", $"stream ID 0x{sid:x} is beyond the {behind.Model}'s 0x{MaxStreamId(behind.Model):x}"); break; }
            for (int j = 0; j < d.IommuMap.Count; j++)
            {
                var im = d.IommuMap[j];
                if ((ulong)im.RidBase + im.Length > 1UL << 32 || (ulong)im.IommuBase + im.Length > 1UL << 32)
                    fail($"{p}.iommuMap[{j}]", "the map's range wraps the 32-bit ID space");
            }
            if (d.SegmentBoundary == 0 || ((d.SegmentBoundary + 1) & d.SegmentBoundary) != 0) fail($"{p}.segmentBoundary", "must be a power of two minus one");
            if (d.Zpci is not null)
            {
                if (d.Bus != "pci") fail($"{p}.zpci", "zPCI attributes belong to PCI functions (bus: pci)");
                if (spec.Iommus.FirstOrDefault(i => i.Name == d.Iommu) is not { Model: "S390Iommu" })
                    fail($"{p}.zpci", $"zPCI attributes need the device behind an S390Iommu IOMMU (iommu: '{d.Iommu}')");
            }
            for (int j = 0; j < d.DmaRanges.Count; j++)
            {
                var dr = d.DmaRanges[j];
                if (dr.Size == 0) fail($"{p}.dmaRanges[{j}].size", "must be non-zero");
                if (dr.BusAddr + (dr.Size - 1) < dr.BusAddr || dr.CpuAddr + (dr.Size - 1) < dr.CpuAddr)
                    fail($"{p}.dmaRanges[{j}]", "the range wraps the 64-bit address space");
            }
            if (d.Zpci is { } z && z.StartDma > z.EndDma) fail($"{p}.zpci", $"startDma 0x{z.StartDma:x} is above endDma 0x{z.EndDma:x}");
        }
    }
}
