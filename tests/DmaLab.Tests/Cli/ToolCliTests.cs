using System.Reflection;

namespace DmaLab.Tests.Cli;

/// <summary>The tool itself: its name in help, --version from the build, shell completion.</summary>
public class ToolCliTests
{
    [Fact]
    public void Version_is_the_builds_and_help_says_dmalab()
    {
        var v = CliRunner.Run("--version");
        Assert.Equal(0, v.ExitCode);
        string expected = typeof(DmaLab.Cli.Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(expected, v.Stdout.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+", v.Stdout);
        var h = CliRunner.Run("replay", "--help");
        Assert.Equal(0, h.ExitCode);
        Assert.Contains("dmalab replay <trace> [options]", h.Stdout);
        Assert.DoesNotContain("DmaLab.Cli", h.Stdout);
        foreach (var o in new[] { "--device", "--pid", "--comm", "--from", "--to", "--phase", "--csv", "--findings", "--width" })
            Assert.Contains(o, h.Stdout);
    }

    [Fact]
    public void Bash_completion_knows_every_command_and_its_options()
    {
        var r = CliRunner.Run("completion", "bash");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("complete -o filenames -F _dmalab dmalab", r.Stdout);
        Assert.Contains("\"platform import\") path=\"platform import\"", r.Stdout);
        Assert.Matches("\"replay\"\\) words=\"[^\"]*--check[^\"]*--device", r.Stdout);
        Assert.Contains("diff", r.Stdout);
        var fish = CliRunner.Run("completion", "fish");
        Assert.Contains("complete -c dmalab -n '__fish_use_subcommand' -f -a replay", fish.Stdout);
    }
}
