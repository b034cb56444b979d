using System.Text.Json;

namespace DmaLab.Tests.Cli;

public class PlatformCliTests
{
    [Fact]
    public void ListShowsBuiltIns()
    {
        var r = CliRunner.Run("platform", "list", "--json");
        Assert.Equal(0, r.ExitCode);
        var names = JsonDocument.Parse(r.Stdout).RootElement.GetProperty("platforms").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToArray();
        Assert.Equal(["arm64-ref", "s390-zpci", "x86-q35"], names);
    }

    [Fact]
    public void ShowPrintsDevicesAndIommus()
    {
        var r = CliRunner.Run("platform", "show", "x86-q35");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("intel-vtd", r.Stdout);
        Assert.DoesNotContain("IntelVtd", r.Stdout);
        Assert.Contains("0000:00:04.0", r.Stdout);
    }

    [Fact]
    public void BadPlatformFileIsOneLineExit2()
    {
        string dir = CliRunner.TempDir();
        string file = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(file, "name: bad\narch: arm64\nmemory:\n  - { base: 0x80000000, size: 1GiB }\ndevices:\n  - name: d\n    dmaMask: 99\n");
        var r = CliRunner.Run("platform", "show", file);
        Assert.Equal(2, r.ExitCode);
        string err = r.Stderr.Trim();
        Assert.DoesNotContain('\n', err);
        Assert.Contains("bad.yaml:7:5: devices[0].dmaMask", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void UnknownOptionIsUsageError()
    {
        var r = CliRunner.Run("platform", "list", "--bogus");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void ImportSeveralFilesGivesJsonLinesAndKeepsGoingPastAFailure()
    {
        string dir = CliRunner.TempDir();
        string broken = Path.Combine(dir, "broken.dtb");
        var good = File.ReadAllBytes(CliRunner.DataPath("dtb", "armhf_omap4-panda.dtb"));
        File.WriteAllBytes(broken, good[..100]);
        var r = CliRunner.Run("platform", "import", CliRunner.DataPath("dtb", "armhf_omap4-panda.dtb"), broken, CliRunner.DataPath("dtb", "armhf_rk3288-firefly.dtb"), "--json");
        Assert.Equal(2, r.ExitCode);
        var lines = r.Stdout.Trim().Split('\n');
        Assert.Equal(3, lines.Length);
        var panda = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal(2, panda.GetProperty("iommus").GetArrayLength());
        Assert.True(JsonDocument.Parse(lines[1]).RootElement.TryGetProperty("error", out var err));
        Assert.Contains("byte", err.GetString());
        Assert.Equal(6, JsonDocument.Parse(lines[2]).RootElement.GetProperty("iommus").GetArrayLength());
    }

    [Fact]
    public void ImportSaveWritesALoadablePlatform()
    {
        string dir = CliRunner.TempDir();
        string yaml = Path.Combine(dir, "exynos.yaml");
        var r = CliRunner.Run("platform", "import", CliRunner.DataPath("dtb", "armhf_exynos4412-odroidu3.dtb"), "--save", yaml);
        Assert.Equal(0, r.ExitCode);
        var show = CliRunner.Run("platform", "show", yaml);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("Exynos", show.Stdout);
    }
}

public class PlatformImportCliTests
{
    [Fact]
    public void A_good_tree_and_a_file_that_is_no_tree_exit_2_naming_the_bad_one()
    {
        string dir = CliRunner.TempDir();
        string bin = Path.Combine(dir, "bad.bin");
        File.WriteAllBytes(bin, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray());
        var r = CliRunner.Run("platform", "import", CliRunner.DataPath("dtb", "armhf_omap4-panda.dtb"), bin);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("OMAP4", r.Stdout, StringComparison.OrdinalIgnoreCase);
        var err = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.StartsWith($"dmalab: {bin}", err);
    }

    [Fact]
    public void A_saved_tree_without_dram_runs_as_a_platform_file()
    {
        string dir = CliRunner.TempDir();
        string yaml = Path.Combine(dir, "sm8250.yaml");
        var r = CliRunner.Run("platform", "import", CliRunner.DataPath("dtb", "arm64_qcom_sm8250-hdk.dtb"), "--save", yaml);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(0, CliRunner.Run("platform", "show", yaml).ExitCode);
        var run = CliRunner.RunIn(dir, "run", "--platform", yaml, "--workload", "zone-pressure", "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
    }
}
