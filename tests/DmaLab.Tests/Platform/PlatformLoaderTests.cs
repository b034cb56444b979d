using DmaLab.Platform;

namespace DmaLab.Tests.Platform;

public class PlatformLoaderTests
{
    [Fact]
    public void BuiltInsLoadAndValidate()
    {
        Assert.Equal(["arm64-ref", "s390-zpci", "x86-q35"], PlatformLoader.BuiltInNames);
        var arm = PlatformLoader.LoadBuiltIn("arm64-ref");
        Assert.Equal("arm64", arm.Arch);
        Assert.Equal(2, arm.Iommus.Count);
        Assert.Equal(0x8_8000_0000UL, arm.Memory[1].Base);
        Assert.Equal(6UL << 30, arm.Memory[1].Size);
        Assert.Contains(arm.Devices, d => d.Kind == "isp" && !d.Coherent && d.Iommu == "smmu-media");
        Assert.Equal(0xfffUL, arm.Devices.Single(d => d.Kind == "nvme").MinAlignMask);
        var x86 = PlatformLoader.LoadBuiltIn("x86-q35");
        Assert.Equal("IntelVtd", x86.Iommus.Single().Model);
        Assert.Contains(x86.Devices, d => d.DmaMask == 32);
    }

    [Theory]
    [InlineData("4096", 4096UL)]
    [InlineData("0x80000000", 0x8000_0000UL)]
    [InlineData("64MiB", 64UL << 20)]
    [InlineData("2G", 2UL << 30)]
    [InlineData("1_000", 1000UL)]
    public void SizesParse(string text, ulong expected)
    {
        Assert.True(SizeYamlConverter.TryParse(text, out ulong v));
        Assert.Equal(expected, v);
    }

    [Theory]
    [InlineData("64XB")]
    [InlineData("0xZZ")]
    [InlineData("-4")]
    [InlineData("99999999999T")]
    public void BadSizesDoNotParse(string text) => Assert.False(SizeYamlConverter.TryParse(text, out _));

    [Fact]
    public void ValidationErrorNamesFileLineAndField()
    {
        const string yaml = """
            name: t
            arch: arm64
            memory:
              - { base: 0x80000000, size: 1GiB }
            devices:
              - name: a
                dmaMask: 32
              - name: b
                iommu: nope
            """;
        var e = Assert.Throws<PlatformSpecException>(() => PlatformLoader.Load(new StringReader(yaml), "board.yaml"));
        Assert.Equal("board.yaml:9:5: devices[1].iommu: no IOMMU named 'nope'", e.Message);
    }

    [Fact]
    public void SyntaxAndTypeErrorsNameTheLine()
    {
        var e = Assert.Throws<PlatformSpecException>(() => PlatformLoader.Load(new StringReader("name: t\ncpus: many\n"), "x.yaml"));
        Assert.StartsWith("x.yaml:2:", e.Message);
        var u = Assert.Throws<PlatformSpecException>(() => PlatformLoader.Load(new StringReader("name: t\nbogus: 1\n"), "y.yaml"));
        Assert.StartsWith("y.yaml:2:", u.Message);
        Assert.Contains("bogus", u.Message);
    }

    [Fact]
    public void SaveRoundTrips()
    {
        var arm = PlatformLoader.LoadBuiltIn("arm64-ref");
        var again = PlatformLoader.Load(new StringReader(PlatformLoader.Save(arm)), "saved.yaml");
        Assert.Equal(PlatformLoader.Save(arm), PlatformLoader.Save(again));
        Assert.Equal(arm.Devices.Count, again.Devices.Count);
    }
}
