using DmaLab.Platform;

namespace DmaLab.Tests.Platform;

/// <summary>One test per class of platform-file error: each is one line, in our words, at the file, line and
/// column of the field, and nothing that loads fails at boot.</summary>
public class PlatformBadInputTests
{
    const string Head = "name: t\narch: arm64\nmemory: [ { base: 0x80000000, size: 1GiB } ]\n";
    const string Smmu = "iommus:\n  - { name: s, model: ArmSmmu, compatible: \"arm,mmu-500\" }\n";

    static string Fails(string yaml)
    {
        var e = Assert.Throws<PlatformSpecException>(() => PlatformLoader.Load(new StringReader(yaml), "p.yaml"));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Theory]
    // unknown keys, named with the allowed ones
    [InlineData("frobnicate: 1\n", "p.yaml:4:1: unknown key 'frobnicate' in the platform; expected one of: name, description, arch")]
    [InlineData("swiotlb: { sise: 1M }\n", "p.yaml:4:12: unknown key 'sise' in swiotlb; expected one of: size, mode, areas, fromCma, base")]
    // the kind of a value
    [InlineData("cpus: [ 1 ]\n", "p.yaml:4:7: cpus: expected an integer, got a list")]
    [InlineData("devices: 3\n", "p.yaml:4:10: devices: expected a list")]
    [InlineData("devices: [ ~ ]\n", "p.yaml:4:12: devices[0]: is empty; expected a mapping")]
    [InlineData("swiotlb: ~\n", "p.yaml:4:10: swiotlb: is empty; expected a mapping")]
    // numbers that do not fit their field
    [InlineData("cpus: many\n", "p.yaml:4:7: cpus: expected an integer, got 'many'")]
    [InlineData("cpus: 99999999999\n", "p.yaml:4:7: cpus: expected an integer, got '99999999999'")]
    [InlineData("vmallocSize: -4\n", "p.yaml:4:14: vmallocSize: expected a size or address")]
    [InlineData("devices:\n  - { name: d, streamIds: [ -1 ] }\n", "p.yaml:5:29: devices[0].streamIds[0]: expected an integer 0..4294967295, got '-1'")]
    [InlineData("devices:\n  - { name: d, streamIds: [ 99999999999 ] }\n", "p.yaml:5:29: devices[0].streamIds[0]: expected an integer 0..4294967295")]
    // ranges: negative, zero, beyond the architecture, what boot needs
    [InlineData("cpus: 0\n", "p.yaml:4:1: cpus: expected 1..1024, got 0")]
    [InlineData("vmallocSize: 0\n", "p.yaml:4:1: vmallocSize: expected a multiple of 4 KiB from 1 MiB to 64 TiB, got 0")]
    [InlineData("swiotlb: { areas: -2 }\n", "p.yaml:4:12: swiotlb.areas: expected 0 (one per CPU) to 1024, got -2")]
    [InlineData("swiotlb: { base: 0x10000000 }\n", "p.yaml:4:12: swiotlb.base: the 64 MiB pool at 0x10000000 must be page aligned and inside one DRAM range")]
    [InlineData("memory: [ { base: 0, size: 1T } ]\n", "p.yaml:3:1: memory: 1024 GiB of DRAM for the page allocator; the model manages at most 64 GiB")]
    [InlineData("cma: { defaultSize: 1000M }\nswiotlb: { size: 64M }\n", "p.yaml:3:1: memory: 1024 MiB of DRAM for the page allocator, 1064 MiB of it reserved at boot")]
    [InlineData(Smmu + "  - { name: c, model: ArmSmmu, contextBanks: -1 }\n", "p.yaml:6:32: iommus[1].contextBanks: expected 0 (driver default) to 128 (ARM_SMMU_MAX_CBS), got -1")]
    [InlineData(Smmu + "  - { name: c, model: ArmSmmu, contextBanks: 2147483647 }\n", "iommus[1].contextBanks: expected 0 (driver default) to 128")]
    [InlineData(Smmu + "  - { name: c, model: ArmSmmu, iotlbEntries: 7 }\n", "p.yaml:6:32: iommus[1].iotlbEntries: an IOTLB of 7 entries and 4 ways")]
    [InlineData(Smmu + "  - { name: c, model: ArmSmmu, ias: 1 }\n", "p.yaml:6:32: iommus[1].ias: expected 0 (driver default) or 32..64 bits, got 1")]
    [InlineData(Smmu + "  - { name: c, model: ArmSmmu, pgsizeBitmap: 1 }\n", "p.yaml:6:32: iommus[1].pgsizeBitmap: expected 0 (driver default) or page sizes of 4 KiB and up, 4 KiB included")]
    [InlineData(Smmu + "  - { name: c, model: ArmSmmu, pgsizeBitmap: 0x10000 }\n", "iommus[1].pgsizeBitmap: expected 0 (driver default) or page sizes of 4 KiB and up, 4 KiB included")]
    [InlineData(Smmu + "  - { name: c, model: ArmSmmuV3, oas: 39 }\n", "iommus[1].oas: expected 0 (driver default), 32, 36, 40, 42, 44 or 48 and up (an LPAE PARange), got 39")]
    [InlineData(Smmu + "  - { name: c, model: Msm, ias: 40 }\n", "iommus[1].ias: short-descriptor (ARMv7s) tables take 32-bit input and output addresses")]
    [InlineData(Smmu + "  - { name: c, model: ArmSmmuV3, oas: 32 }\nmemory: [ { base: 0x80000000, size: 4G } ]\n", "iommus[1].oas: DRAM ends at 0x180000000, beyond the 32-bit output address")]
    [InlineData("devices:\n  - { name: d, dmaRanges: [ { busAddr: 0xfffffffffffff000, cpuAddr: 0, size: 0x2000 } ] }\n", "p.yaml:5:29: devices[0].dmaRanges[0]: the range wraps the 64-bit address space")]
    [InlineData("devices:\n  - { name: d, bus: pci }\n", "p.yaml:5:5: devices[0].busId: a PCI device needs a bus id like 0000:00:04.0 in busId or name, got 'd'")]
    [InlineData("devices:\n  - { name: d, maxSegmentSize: 0x100000000 }\n", "devices[0].maxSegmentSize: expected 1..0xffffffff")]
    // structure: duplicate keys, depth, aliases, documents
    [InlineData("name: u\n", "p.yaml:4:1: duplicate key 'name'")]
    [InlineData("---\nname: u\n---\nname: v\n", "more than one YAML document")]
    public void Each_error_is_one_line_at_its_field(string tail, string expected)
    {
        string yaml = tail.StartsWith("memory:", StringComparison.Ordinal) ? Head.Replace("memory: [ { base: 0x80000000, size: 1GiB } ]\n", tail)
            : tail.StartsWith("---", StringComparison.Ordinal) ? tail
            : Head + tail.Replace("\nmemory: [ { base: 0x80000000, size: 4G } ]\n", "\n");
        if (tail.EndsWith("memory: [ { base: 0x80000000, size: 4G } ]\n", StringComparison.Ordinal))
            yaml = yaml.Replace("size: 1GiB", "size: 4G");
        Assert.Contains(expected, Fails(yaml));
    }

    [Fact]
    public void Deep_nesting_is_refused_before_any_tree_is_built()
    {
        string msg = Fails("name: t\ndevices: " + new string('[', 100_000) + "\n");
        Assert.Equal("p.yaml:2:73: nested deeper than 64 levels", msg);
    }

    [Fact]
    public void Alias_amplification_is_refused()
    {
        var sb = new System.Text.StringBuilder("name: t\nnotes: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        string prev = "a";
        foreach (string k in new[] { "description", "arch", "cma", "kernel", "swiotlb", "iommus" })
        {
            string n = prev + "x";
            sb.Append($"{k}: &{n} [{string.Join(",", Enumerable.Repeat("*" + prev, 9))}]\n");
            prev = n;
        }
        Assert.Contains("expands to more than 100,000 nodes", Fails(sb.ToString()));
    }

    [Theory]
    [InlineData("&a\nname: *a\n")]
    [InlineData("&a [*a]\n")]
    public void A_self_aliased_root_is_refused(string yaml) => Assert.Contains("refers to a node that contains it", Fails(yaml));

    [Fact]
    public void A_scanner_failure_inside_a_flow_mapping_is_a_located_error() =>
        Assert.Contains("not valid YAML after this point",
            Fails(Head + "devices:\n  - { name: a, bus: pci,\nfrobnicate: 1\n      kind: nic }\n"));
}
