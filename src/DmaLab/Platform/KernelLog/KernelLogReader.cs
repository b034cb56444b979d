using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace DmaLab.Platform.KernelLog;

/// <summary>
/// Reads the facts a kernel log states about DMA and IOMMUs from raw `dmesg`, `journalctl -k`, or any text that
/// contains such lines (our `.platform.txt` files): the kernel version, the IOMMU family and its version words, the
/// invalidation policy and why, swiotlb's pool, the PCI root bus windows, CONFIG_HZ and nr_cpu_ids. Streams the input
/// in bounded memory (lines longer than <see cref="MaxLineChars"/> are cut); unrecognised lines are only counted. A
/// file that is not text (NUL bytes, mostly undecodable bytes) is a <see cref="KernelLogFormatException"/>.
/// The printk formats are those of Linux 6.1 and 6.12 (files named with each reader below).
/// </summary>
public static partial class KernelLogReader
{
    /// <summary>Longest line kept; the rest of a longer line is skipped.</summary>
    public const int MaxLineChars = 16 * 1024;

    public static KernelLogFacts Read(Stream input, string name)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var text = new StreamReader(input, new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: true,
            bufferSize: 64 * 1024, leaveOpen: true);
        return Read(text, name);
    }

    public static KernelLogFacts Read(TextReader text, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        var facts = new KernelLogFacts { Input = name };
        var line = new StringBuilder();
        var buf = new char[64 * 1024];
        long offset = 0, lineNo = 0, undecodable = 0;
        int n;
        while ((n = text.Read(buf, 0, buf.Length)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                char ch = buf[i];
                if (ch == '\0')
                    throw new KernelLogFormatException($"{name}: offset {offset + i}: binary data (a NUL byte); expected kernel log text (dmesg, journalctl -k)");
                if (ch == '\uFFFD' && ++undecodable > 64 && offset + i < 64 * 1024 && undecodable * 8 > offset + i)
                    throw new KernelLogFormatException($"{name}: offset {offset + i}: binary data (bytes that are not UTF-8 text); expected kernel log text (dmesg, journalctl -k)");
                if (ch == '\n')
                {
                    Line(facts, line, ++lineNo);
                    line.Clear();
                }
                else if (line.Length < MaxLineChars) line.Append(ch);
            }
            offset += n;
        }
        if (line.Length > 0) Line(facts, line, ++lineNo);
        facts.Lines = lineNo;
        return facts;
    }

    static void Line(KernelLogFacts f, StringBuilder sb, long lineNo)
    {
        if (sb.Length > 0 && sb[^1] == '\r') sb.Length--;
        string raw = sb.ToString();
        string msg = KernelLogLine.Message(raw, out bool prefixed);
        if (prefixed) f.KernelLines++;
        if (Fact(f, msg, lineNo, raw.Length - msg.Length)) f.FactLines++;
    }

    // ---- the printks -------------------------------------------------------------------------------------------

    // init/version.c, linux_banner.
    [GeneratedRegex(@"^Linux version (\S+)")]
    private static partial Regex Banner();
    // init/main.c, start_kernel(): "Kernel command line: %s".
    [GeneratedRegex(@"^Kernel command line: (.*)$")]
    private static partial Regex CmdLine();
    // drivers/iommu/iommu.c, iommu_subsys_init().
    [GeneratedRegex(@"^iommu: Default domain type: (\S+)")]
    private static partial Regex DefaultDomain();
    [GeneratedRegex(@"^iommu: DMA domain TLB invalidation policy: (strict|lazy) mode( \(set via kernel command line\))?")]
    private static partial Regex Policy();
    // drivers/iommu/intel/dmar.c, alloc_iommu(): "%s: reg_base_addr %llx ver %d:%d cap %llx ecap %llx".
    [GeneratedRegex(@"^DMAR: dmar\d+: reg_base_addr ([0-9a-f]+) ver (\d+:\d+) cap ([0-9a-f]+) ecap ([0-9a-f]+)")]
    private static partial Regex DmarUnit();
    // drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c, arm_smmu_device_hw_probe(): "ias %lu-bit, oas %lu-bit (features 0x%08x)".
    [GeneratedRegex(@"^arm-smmu-v3 \S+: ias (\d+)-bit, oas (\d+)-bit")]
    private static partial Regex SmmuV3();
    // drivers/iommu/arm/arm-smmu/arm-smmu.c, arm_smmu_device_cfg_probe(): "SMMUv%d with:".
    [GeneratedRegex(@"^arm-smmu \S+: SMMUv(\d) with:")]
    private static partial Regex SmmuV12();
    // drivers/iommu/virtio-iommu.c, viommu_probe().
    [GeneratedRegex(@"^virtio_iommu \S+: input address: (\d+) bits")]
    private static partial Regex VirtioInput();
    [GeneratedRegex(@"^virtio_iommu \S+: page mask: 0x([0-9a-f]+)")]
    private static partial Regex VirtioPageMask();
    // drivers/iommu/amd/init.c, early_enable_iommus()/print_iommu_info(): "Extended features (%#llx, %#llx):".
    [GeneratedRegex(@"^AMD-Vi: Extended features \((0x[0-9a-f]+|0), (0x[0-9a-f]+|0)\)")]
    private static partial Regex AmdEfr();
    // kernel/dma/swiotlb.c, swiotlb_print_info() and swiotlb_init_remap()/swiotlb_adjust_nareas().
    [GeneratedRegex(@"^software IO TLB: mapped \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]")]
    private static partial Regex SwiotlbMapped();
    [GeneratedRegex(@"^software IO TLB: area num (\d+)")]
    private static partial Regex SwiotlbAreas();
    // kernel/rcu/tree.c, adjust_jiffies_till_sched_qs() and rcu_bootup_announce_oddness().
    [GeneratedRegex(@"^rcu: RCU calculated value of scheduler-enlistment delay is (\d+) jiffies")]
    private static partial Regex RcuSchedQs();
    [GeneratedRegex(@"^rcu:\s+RCU restricting CPUs from NR_CPUS=\d+ to nr_cpu_ids=(\d+)")]
    private static partial Regex NrCpuIds();
    [GeneratedRegex(@"^CONFIG_HZ=(\d+)\s*$")]
    private static partial Regex ConfigHz();
    // drivers/iommu/iommu.c, __iommu_probe_device(): dev_info(dev, "Adding to iommu group %d").
    [GeneratedRegex(@"^\S+ (\S+): Adding to iommu group (\d+)")]
    private static partial Regex Group();

    // prefix: characters of the log prefix before the message, for columns in errors.
    static bool Fact(KernelLogFacts f, string m, long line, int prefix)
    {
        Match x;
        if (m.StartsWith("Linux version ", StringComparison.Ordinal) && (x = Banner().Match(m)).Success)
        {
            f.KernelRelease ??= new(x.Groups[1].Value, line);
            if (f.KernelVersion is null && ParseRelease(x.Groups[1].Value) is Version v) f.KernelVersion = new(v, line);
            return true;
        }
        if ((x = CmdLine().Match(m)).Success) { f.CommandLine ??= new(x.Groups[1].Value.Trim(), line); return true; }
        if (m.StartsWith("iommu: ", StringComparison.Ordinal))
        {
            if ((x = DefaultDomain().Match(m)).Success) { f.DefaultDomainType ??= new(x.Groups[1].Value, line); return true; }
            if ((x = Policy().Match(m)).Success && f.Strict is null)
            {
                f.Strict = new(x.Groups[1].Value == "strict", line);
                f.StrictFromCommandLine = x.Groups[2].Success;
                return true;
            }
            return false;
        }
        if (m.StartsWith("DMAR: ", StringComparison.Ordinal))
        {
            if ((x = DmarUnit().Match(m)).Success)
            {
                Kind(f, "intel-vtd", line);
                f.IommuVersion ??= new($"VT-d ver {x.Groups[2].Value} cap 0x{x.Groups[3].Value} ecap 0x{x.Groups[4].Value}", line);
                return true;
            }
            if (m.StartsWith("DMAR: Intel(R) Virtualization Technology for Directed I/O", StringComparison.Ordinal)) { Kind(f, "intel-vtd", line); return true; }
            // drivers/iommu/intel/iommu.c, intel_iommu_init(): caching mode (a virtual VT-d) forces strict.
            if (m.Contains("IOMMU batching disallowed due to virtualization", StringComparison.Ordinal))
            {
                f.StrictDueToVirtualization ??= new("VT-d caching mode (IOMMU batching disallowed due to virtualization)", line);
                return true;
            }
            return false;
        }
        if (m.StartsWith("AMD-Vi: ", StringComparison.Ordinal))
        {
            // amd_iommu_v2 prints "AMD IOMMUv2 functionality not available" on machines without one: not evidence.
            if (m.Contains("not available", StringComparison.Ordinal) || m.Contains("not found", StringComparison.Ordinal)
                || m.Contains("disabled", StringComparison.Ordinal) && !m.Contains("enabled", StringComparison.Ordinal)) return false;
            Kind(f, "amd-vi", line);
            if ((x = AmdEfr().Match(m)).Success) f.IommuVersion ??= new($"AMD-Vi EFR {x.Groups[1].Value}, EFR2 {x.Groups[2].Value}", line);
            // drivers/iommu/amd/init.c, init_iommu_one_late(): the NpCache capability bit sets amd_iommu_np_cache
            // and iommu_set_dma_strict().
            if (m.Contains("Using strict mode due to virtualization", StringComparison.Ordinal))
                f.StrictDueToVirtualization ??= new("AMD-Vi NpCache (Using strict mode due to virtualization)", line);
            return true;
        }
        if (m.StartsWith("virtio_iommu ", StringComparison.Ordinal))
        {
            if ((x = VirtioInput().Match(m)).Success)
            {
                Kind(f, "virtio-iommu", line);
                f.VirtioIommuInputBits ??= new(int.Parse(x.Groups[1].Value, CultureInfo.InvariantCulture), line);
                VirtioVersion(f, line);
                return true;
            }
            if ((x = VirtioPageMask().Match(m)).Success
                && ulong.TryParse(x.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong mask))
            {
                Kind(f, "virtio-iommu", line);
                f.VirtioIommuPageMask ??= new(mask, line);
                VirtioVersion(f, line);
                return true;
            }
            return false;
        }
        if (m.StartsWith("arm-smmu-v3 ", StringComparison.Ordinal) && (x = SmmuV3().Match(m)).Success)
        {
            Kind(f, "arm-smmu-v3", line);
            f.IommuVersion ??= new($"SMMUv3 ias {x.Groups[1].Value}-bit oas {x.Groups[2].Value}-bit", line);
            return true;
        }
        if (m.StartsWith("arm-smmu ", StringComparison.Ordinal) && (x = SmmuV12().Match(m)).Success)
        {
            Kind(f, "arm-smmu", line);
            f.IommuVersion ??= new($"SMMUv{x.Groups[1].Value}", line);
            return true;
        }
        if (m.StartsWith("software IO TLB: ", StringComparison.Ordinal))
        {
            if ((x = SwiotlbMapped().Match(m)).Success
                && ulong.TryParse(x.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong s)
                && ulong.TryParse(x.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong e) && s < e)
            {
                f.SwiotlbPool ??= new((s, e), line);
                return true;
            }
            if ((x = SwiotlbAreas().Match(m)).Success && int.TryParse(x.Groups[1].Value, CultureInfo.InvariantCulture, out int a) && a > 0)
            {
                f.SwiotlbAreas ??= new(a, line);
                return true;
            }
            if (m.StartsWith("software IO TLB: No low mem", StringComparison.Ordinal)) { f.SwiotlbNoPool ??= new(true, line); return true; }
            return false;
        }
        if (m.StartsWith("pci_bus ", StringComparison.Ordinal))
        {
            if (PciRootBusWindow.TryParse(m, out var w, out var problem))
            {
                if (f.PciWindows.Count == 0) f.PciWindowsLine = line;
                if (!f.PciWindows.Contains(w)) f.PciWindows.Add(w);
                return true;
            }
            if (problem is { } p)
                throw new KernelLogFormatException($"{f.Input}: line {line}: column {prefix + p.Column}: expected {p.Expected}");
            return false;
        }
        if (m.StartsWith("rcu:", StringComparison.Ordinal))
        {
            if ((x = NrCpuIds().Match(m)).Success && int.TryParse(x.Groups[1].Value, CultureInfo.InvariantCulture, out int cpus))
            {
                f.PossibleCpus ??= new(cpus, line);
                return true;
            }
            if ((x = RcuSchedQs().Match(m)).Success && long.TryParse(x.Groups[1].Value, CultureInfo.InvariantCulture, out long j))
            {
                // j = HZ/10 + nr_cpu_ids/256 (the lower bound wins for every CONFIG_HZ choice at the default fqs
                // settings); nr_cpu_ids is printed earlier when it is below NR_CPUS, else assumed below 256.
                long hz = (j - (f.PossibleCpus?.Value ?? 0) / 256) * 10;
                if (f.Hz is null && hz is 100 or 250 or 300 or 1000) { f.Hz = new((int)hz, line); return true; }
                return false;
            }
            return false;
        }
        if ((x = ConfigHz().Match(m)).Success && int.TryParse(x.Groups[1].Value, CultureInfo.InvariantCulture, out int cfgHz) && cfgHz > 0)
        {
            f.Hz = new(cfgHz, line); // a config dump states it outright
            return true;
        }
        if (m.Contains(": Adding to iommu group ", StringComparison.Ordinal) && (x = Group().Match(m)).Success
            && int.TryParse(x.Groups[2].Value, CultureInfo.InvariantCulture, out int g))
        {
            f.IommuGroups.Add((x.Groups[1].Value, g, line));
            return true;
        }
        return false;
    }

    static void Kind(KernelLogFacts f, string kind, long line) => f.IommuKind ??= new(kind, line);

    static void VirtioVersion(KernelLogFacts f, long line)
    {
        if (f.VirtioIommuInputBits is { } bits && f.VirtioIommuPageMask is { } mask)
            f.IommuVersion = new($"virtio-iommu input {bits.Value} bits, page_size_mask 0x{mask.Value:x}", line);
    }

    /// <summary>"6.12.117+deb12-amd64" → 6.12.117; "6.1.0-57-amd64" → 6.1.0 (Debian's ABI name; the banner's
    /// "Debian 6.1.192-3" names the patch level, but only major.minor decide behaviour here).</summary>
    public static Version? ParseRelease(string release)
    {
        var m = Release().Match(release);
        if (!m.Success) return null;
        int major = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), minor = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        int patch = m.Groups[3].Success ? int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) : 0;
        return new Version(major, minor, patch);
    }

    [GeneratedRegex(@"^(\d{1,2})\.(\d{1,3})(?:\.(\d{1,4}))?")]
    private static partial Regex Release();
}
