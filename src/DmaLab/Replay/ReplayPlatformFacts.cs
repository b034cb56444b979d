using DmaLab.Platform;
using DmaLab.Platform.KernelLog;

namespace DmaLab.Replay;

/// <summary>
/// Puts together what the replay knew about the traced machine, fact by fact, with the source of each (see
/// <see cref="ReplayPlatformFact"/>): facts the kernel log states win over guesses from the trace, which win over
/// defaults. It also writes the log's IOMMU family into the inferred platform, so platform.iommuKind names the
/// family the replay used.
/// </summary>
public static class ReplayPlatformFacts
{
    /// <summary>The swiotlb pool the kernel log states, over the platform's settings (null when the log names none).</summary>
    public static SwiotlbSpec? SwiotlbFromLog(KernelLogFacts? log, SwiotlbSpec? platform)
    {
        if (log?.SwiotlbPool is not { } pool) return null;
        var (start, end) = pool.Value;
        return new SwiotlbSpec
        {
            Base = start, Size = end - start, Areas = log.SwiotlbAreas?.Value ?? platform?.Areas ?? 0,
            Mode = platform?.Mode ?? "auto", FromCma = platform?.FromCma ?? false,
        };
    }

    public static List<ReplayPlatformFact> Build(ReplayReport report, ReplayRunOptions o, MachineReplayModel? model, int traceCpus)
    {
        var facts = new List<ReplayPlatformFact>();
        var log = o.KernelLog;
        static string At(long line) => $"line {line}";
        var p = report.Platform;

        // Kernel version.
        if (log?.KernelRelease is { } rel) facts.Add(new("kernel", rel.Value, "log", At(rel.Line)));
        else facts.Add(new("kernel", KernelFromEvents(report), "trace", "from the event names (dma:* events exist since Linux 6.12; 6.16 renamed dma_map_page to dma_map_phys)"));

        // IOMMU family.
        if (log?.IommuKind is { } kind)
        {
            string traced = p.IommuKind;
            if (p.Iommu)
            {
                p.IommuKind = kind.Value;
                p.IommuDescription = Describe(kind.Value);
                p.Reasons.Add($"the kernel log names the IOMMU: {kind.Value} ({At(kind.Line)})" + (traced != kind.Value ? $"; the trace alone showed {traced}" : ""));
                facts.Add(new("iommuKind", kind.Value, "log", At(kind.Line) + (traced != kind.Value ? $" (the trace alone: {traced})" : "")));
            }
            else facts.Add(new("iommuKind", p.IommuKind, "trace", $"no traced device is translated; the log names {kind.Value} hardware ({At(kind.Line)})"));
        }
        else if (o.Platform?.Iommus.FirstOrDefault(i => i.Enabled) is { } pi && p.Iommu)
            facts.Add(new("iommuKind", p.IommuKind, "trace", $"the platform names {pi.Model}; the events show {p.IommuDescription}"));
        else facts.Add(new("iommuKind", p.IommuKind, "trace", p.IommuDescription));
        if (log?.IommuVersion is { } ver) facts.Add(new("iommuVersion", ver.Value, "log", At(ver.Line)));
        if (o.IommuModel is string whatIf) facts.Add(new("whatIfIommu", whatIf, "option", "--iommu: the what-if's family"));

        // Invalidation policy.
        if (p.Iommu)
        {
            string policy = model?.DomainsLazy is bool lazy ? lazy ? "lazy" : "strict" : "unknown";
            if (log?.StrictDueToVirtualization is { } virt)
                facts.Add(new("invalidationPolicy", "strict", "log", $"{virt.Value}, {At(virt.Line)}"
                    + (log.Strict is { } s && !s.Value ? $", over \"lazy\" at line {s.Line}" : "")));
            else if (log?.Strict is { } strict)
                facts.Add(new("invalidationPolicy", strict.Value ? "strict" : "lazy", "log",
                    At(strict.Line) + (log.StrictFromCommandLine ? " (set via kernel command line)" : "")));
            else if (o.Platform is not null)
                facts.Add(new("invalidationPolicy", policy, "platform", "kernel.iommuStrict"));
            else if (model is not null)
            {
                var (sv, lv) = model.PolicyVotes;
                facts.Add(new("invalidationPolicy", policy, "trace", $"{sv} freed IOVA(s) reused at once, {lv} not"));
            }
        }

        // swiotlb.
        if (log?.SwiotlbPool is { } pool)
            facts.Add(new("swiotlbPool", $"0x{pool.Value.Start:x}-0x{pool.Value.End:x}", "log", At(pool.Line)));
        else if (log?.SwiotlbNoPool is { } none)
            facts.Add(new("swiotlbPool", "none", "log", $"No low mem, {At(none.Line)}"));
        else if (o.Platform?.Swiotlb.Base is ulong b)
            facts.Add(new("swiotlbPool", $"0x{b:x}", "platform", "swiotlb.base"));
        else if (model?.Swiotlb is { } sp)
            facts.Add(new("swiotlbPool", $"0x{sp.Start.Value:x}", "trace", "the first bounce slot rounded down to a page"));
        if (log?.SwiotlbAreas is { } areas) facts.Add(new("swiotlbAreas", areas.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "log", At(areas.Line)));

        // PCI windows.
        if (o.PciWindows.Count > 0)
            facts.Add(new("pciWindows", Windows(o.PciWindows), "option", "given by the caller"));
        else if (log is not null && log.PciWindows.Count > 0)
            facts.Add(new("pciWindows", Windows(log.PciWindows), "log", At(log.PciWindowsLine)));
        else if (p.Iommu)
            facts.Add(new("pciWindows", "none", "default", "no PCI host bridge windows reserved (pass the kernel log with --dmesg)"));

        // HZ and CPUs.
        if (log?.Hz is { } hz) facts.Add(new("hz", hz.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "log", At(hz.Line)));
        else facts.Add(new("hz", "250", "default", "CONFIG_HZ assumed (flush-queue timeout and IOVA depot delay)"));
        if (traceCpus > 0) facts.Add(new("cpus", traceCpus.ToString(System.Globalization.CultureInfo.InvariantCulture), "trace", "the header's #P:N"));
        else if (log?.PossibleCpus is { } cpus) facts.Add(new("cpus", cpus.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "log", At(cpus.Line)));
        else if (o.Platform is { } plat) facts.Add(new("cpus", plat.Cpus.ToString(System.Globalization.CultureInfo.InvariantCulture), "platform", "cpus"));
        else facts.Add(new("cpus", ReplayRunner.DefaultCpus.ToString(System.Globalization.CultureInfo.InvariantCulture), "default", "no #P:N header"));
        return facts;
    }

    /// <summary>The family name in words.</summary>
    public static string Describe(string kind) => kind switch
    {
        "intel-vtd" => "Intel VT-d",
        "amd-vi" => "AMD-Vi",
        "virtio-iommu" => "virtio-iommu",
        "arm-smmu" => "ARM SMMU (v1/v2)",
        "arm-smmu-v3" => "ARM SMMUv3",
        "x86-unknown" => "x86 IOMMU (VT-d, AMD-Vi or virtio-iommu)",
        "none" => "no IOMMU",
        _ => "an IOMMU of unknown family",
    };

    static string KernelFromEvents(ReplayReport r)
    {
        bool has(string e) => r.Events.ContainsKey(e);
        if (has("dma_map_phys") || has("dma_unmap_phys")) return "6.16 or later";
        if (has("dma_map_page") || has("dma_unmap_page") || has("dma_map_sg") || has("dma_alloc")) return "6.12 to 6.15";
        if (has("map") || has("unmap")) return "before 6.12 (iommu:* events only)";
        return "unknown";
    }

    static string Windows(IEnumerable<(ulong Start, ulong End, ulong Offset)> w) =>
        string.Join(", ", w.Select(x => $"0x{x.Start:x}-0x{x.End:x}" + (x.Offset != 0 ? $" (offset 0x{x.Offset:x})" : "")));
}
