using System.Text;
using DmaLab.Platform.KernelLog;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Platform.KernelLog;

/// <summary>Each fact the kernel-log reader takes, from each log form (dmesg, dmesg -T, dmesg -r, journalctl -k,
/// short-iso, short-monotonic, /dev/kmsg, dmesg -t), and the real logs beside the samples.</summary>
public class KernelLogReaderTests
{
    static KernelLogFacts Read(string text) => KernelLogReader.Read(new StringReader(text), "log");

    // One message, each way the tools print it.
    public static TheoryData<string> Forms(string msg) => new()
    {
        $"[    2.355390] {msg}",
        $"[Wed Dec  2 16:29:22 2026] {msg}",
        $"<6>[    2.355390] {msg}",
        $"Dec 02 16:29:22 guest kernel: {msg}",
        $"2026-12-02T16:29:22+0000 guest kernel: {msg}",
        $"[    2.355390] guest kernel: {msg}",
        $"6,312,2355390,-;{msg}",
        msg,
    };

    public static TheoryData<string> PolicyForms => Forms("iommu: DMA domain TLB invalidation policy: lazy mode");

    [Theory]
    [MemberData(nameof(PolicyForms))]
    public void Every_log_form_gives_the_message(string line)
    {
        var f = Read("noise before\n" + line + "\nnoise after\n");
        Assert.False(f.Strict!.Value);
        Assert.Equal(2, f.Strict.Line);
        Assert.False(f.StrictFromCommandLine);
        Assert.Equal(3, f.Lines);
        Assert.Equal(1, f.FactLines);
        Assert.Equal(line.Contains("iommu: DMA") && line.StartsWith("iommu", StringComparison.Ordinal) ? 0 : 1, f.KernelLines);
    }

    [Fact]
    public void Kernel_version_command_line_and_policy_from_the_command_line()
    {
        var f = Read("""
            [    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org) (gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3
            [    0.155393] Kernel command line: console=ttyS0 intel_iommu=on iommu.strict=1
            [    1.858436] iommu: Default domain type: Translated 
            [    1.858670] iommu: DMA domain TLB invalidation policy: strict mode (set via kernel command line)
            """);
        Assert.Equal("6.1.0-57-amd64", f.KernelRelease!.Value);
        Assert.Equal(new Version(6, 1, 0), f.KernelVersion!.Value);
        Assert.Equal("console=ttyS0 intel_iommu=on iommu.strict=1", f.CommandLine!.Value);
        Assert.Equal("Translated", f.DefaultDomainType!.Value);
        Assert.True(f.Strict!.Value);
        Assert.True(f.StrictFromCommandLine);
        Assert.Equal(4, f.Strict.Line);
    }

    [Fact]
    public void Vtd_unit_and_caching_mode()
    {
        var f = Read("""
            [    0.448321] DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260206 ecap f00f4a
            [    2.100000] DMAR: IOMMU batching disallowed due to virtualization
            [    2.427819] AMD-Vi: AMD IOMMUv2 functionality not available on this system - This is not a bug.
            """);
        Assert.Equal("intel-vtd", f.IommuKind!.Value);
        Assert.Equal("VT-d ver 1:0 cap 0xd2008c22260206 ecap 0xf00f4a", f.IommuVersion!.Value);
        Assert.Contains("caching mode", f.StrictDueToVirtualization!.Value);
    }

    [Fact]
    public void Amd_vi_with_np_cache()
    {
        var f = Read("""
            [    0.012000] AMD-Vi: Using global IVHD EFR:0x0, EFR2:0x0
            [    2.838356] AMD-Vi: Using strict mode due to virtualization
            [    2.960206] AMD-Vi: Extended features (0x29d3, 0x0): PreF PPR GT IA GA HE
            """);
        Assert.Equal("amd-vi", f.IommuKind!.Value);
        Assert.Equal(1, f.IommuKind.Line);
        Assert.Equal("AMD-Vi EFR 0x29d3, EFR2 0x0", f.IommuVersion!.Value);
        Assert.Equal(2, f.StrictDueToVirtualization!.Line);
        Assert.Contains("NpCache", f.StrictDueToVirtualization.Value);
    }

    [Fact]
    public void Not_available_amd_line_names_no_family()
    {
        var f = Read("[    2.427819] AMD-Vi: AMD IOMMUv2 functionality not available on this system - This is not a bug.\n");
        Assert.Null(f.IommuKind);
    }

    [Fact]
    public void Virtio_iommu_config_space()
    {
        var f = Read("""
            [    5.299810] virtio_iommu virtio0: input address: 64 bits
            [    5.300107] virtio_iommu virtio0: page mask: 0xfffffffffffff000
            [    5.329727] virtio-pci 0000:00:06.0: Adding to iommu group 0
            [    5.544330] nvme 0000:00:04.0: Adding to iommu group 2
            """);
        Assert.Equal("virtio-iommu", f.IommuKind!.Value);
        Assert.Equal(64, f.VirtioIommuInputBits!.Value);
        Assert.Equal(0xffff_ffff_ffff_f000UL, f.VirtioIommuPageMask!.Value);
        Assert.Equal("virtio-iommu input 64 bits, page_size_mask 0xfffffffffffff000", f.IommuVersion!.Value);
        Assert.Equal([("0000:00:06.0", 0, 3L), ("0000:00:04.0", 2, 4L)], f.IommuGroups);
    }

    [Fact]
    public void Arm_smmus()
    {
        var v3 = Read("[    0.848910] arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00008305)\n");
        Assert.Equal("arm-smmu-v3", v3.IommuKind!.Value);
        Assert.Equal("SMMUv3 ias 44-bit oas 44-bit", v3.IommuVersion!.Value);
        var v2 = Read("[    1.0] arm-smmu 15000000.iommu: probing hardware configuration...\n[    1.1] arm-smmu 15000000.iommu: SMMUv2 with:\n");
        Assert.Equal("arm-smmu", v2.IommuKind!.Value);
        Assert.Equal("SMMUv2", v2.IommuVersion!.Value);
    }

    [Fact]
    public void Swiotlb_pool_and_areas()
    {
        var f = Read("""
            [    0.000000] software IO TLB: area num 1.
            [    0.000000] software IO TLB: mapped [mem 0x00000000b9600000-0x00000000b9800000] (2MB)
            """);
        Assert.Equal((0xb960_0000UL, 0xb980_0000UL), f.SwiotlbPool!.Value);
        Assert.Equal(1, f.SwiotlbAreas!.Value);
        Assert.True(Read("[    0.162662] software IO TLB: No low mem\n").SwiotlbNoPool!.Value);
    }

    [Fact]
    public void Pci_windows_with_and_without_bus_offset()
    {
        var f = Read("""
            [    2.214180] pci_bus 0000:00: root bus resource [io  0x0d00-0xffff window]
            [    2.214500] pci_bus 0000:00: root bus resource [mem 0x80000000-0xafffffff window]
            [    2.214500] pci_bus 0000:00: root bus resource [mem 0x80000000-0xafffffff window]
            [    0.803711] pci_bus 0000:00: root bus resource [mem 0x8000000000-0xffffffffff]
            [    1.0] pci_bus 0000:00: root bus resource [mem 0x60000000-0x6fffffff] (bus address [0x00000000-0x0fffffff])
            """);
        Assert.Equal([(0x8000_0000UL, 0xafff_ffffUL, 0UL), (0x80_0000_0000UL, 0xff_ffff_ffffUL, 0UL), (0x6000_0000UL, 0x6fff_ffffUL, 0x6000_0000UL)],
            f.PciWindows);
        Assert.Equal(2, f.PciWindowsLine);
    }

    [Theory]
    [InlineData(25, 1, 250)]
    [InlineData(10, 1, 100)]
    [InlineData(100, 8, 1000)]
    [InlineData(30, 0, 300)]
    public void Hz_from_the_rcu_enlistment_delay(int jiffies, int cpus, int hz)
    {
        string cpuLine = cpus > 0 ? $"[    0.0] rcu: \tRCU restricting CPUs from NR_CPUS=8192 to nr_cpu_ids={cpus}.\n" : "";
        var f = Read(cpuLine + $"[    0.1] rcu: RCU calculated value of scheduler-enlistment delay is {jiffies} jiffies.\n");
        Assert.Equal(hz, f.Hz!.Value);
        if (cpus > 0) Assert.Equal(cpus, f.PossibleCpus!.Value);
    }

    [Fact]
    public void An_odd_enlistment_delay_gives_no_hz_and_a_config_dump_does()
    {
        Assert.Null(Read("[ 0.1] rcu: RCU calculated value of scheduler-enlistment delay is 7 jiffies.\n").Hz);
        Assert.Equal(1000, Read("CONFIG_HZ_1000=y\nCONFIG_HZ=1000\n").Hz!.Value);
    }

    [Fact]
    public void Noise_and_garbage_lines_are_no_error()
    {
        var f = Read("[    x] what\n[    1.0] iommu: DMA domain TLB invalidation policy: sloppy mode\n\r\n\u00e9\u00e8 text\n[ 1.0] pci_bus 0000:00: root bus resource [mem 0xzz-0x1]\n");
        Assert.Null(f.Strict);
        Assert.Empty(f.PciWindows);
        Assert.Equal(0, f.FactLines);
    }

    [Fact]
    public void Binary_data_is_a_one_line_error_with_the_offset()
    {
        var bytes = Encoding.ASCII.GetBytes("[ 0.0] Linux version 6.12.0\n").Concat(new byte[] { 0x7f, 0x45, 0, 1 }).ToArray();
        var e = Assert.Throws<KernelLogFormatException>(() => KernelLogReader.Read(new MemoryStream(bytes), "vmlinux"));
        Assert.StartsWith("vmlinux: offset 30: binary data", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        var random = new byte[4096];
        new Random(7).NextBytes(random);
        for (int i = 0; i < random.Length; i++) if (random[i] == 0) random[i] = 0xff;
        Assert.Throws<KernelLogFormatException>(() => KernelLogReader.Read(new MemoryStream(random), "noise.bin"));
    }

    [Fact]
    public void An_overlong_line_is_cut_not_kept()
    {
        string huge = new string('x', KernelLogReader.MaxLineChars * 4);
        var f = Read(huge + "\n[ 1.0] software IO TLB: area num 2.\n");
        Assert.Equal(2, f.Lines);
        Assert.Equal(2, f.SwiotlbAreas!.Value);
    }

    [Theory]
    [InlineData("qemu-amd-strict-sample.platform.txt", "amd-vi", "6.12.117+deb12-amd64", true, true)]
    [InlineData("qemu-virtio-strict-sample.platform.txt", "virtio-iommu", "6.12.117+deb12-amd64", true, false)]
    [InlineData("qemu-vtd-strict-k61-sample.platform.txt", "intel-vtd", "6.1.0-57-amd64", true, false)]
    [InlineData("qemu-smmuv3-strict-sample.platform.txt", "arm-smmu-v3", "6.12.117+deb12-arm64", true, false)]
    [InlineData("h100-cuda-pinned.platform.txt", null, "6.18.44-fc-v657-gpu", false, false)]
    public void The_samples_logs(string file, string? kind, string release, bool strict, bool virt)
    {
        using var s = File.OpenRead(TraceSamples.PathOf(file));
        var f = KernelLogReader.Read(s, file);
        Assert.Equal(kind, f.IommuKind?.Value);
        Assert.Equal(release, f.KernelRelease!.Value);
        Assert.Equal(strict, f.Strict!.Value);
        Assert.Equal(virt, f.StrictDueToVirtualization is not null);
        Assert.NotEmpty(f.PciWindows);
        if (kind is "amd-vi" or "intel-vtd" or "virtio-iommu") Assert.Equal(250, f.Hz!.Value);
    }
}
