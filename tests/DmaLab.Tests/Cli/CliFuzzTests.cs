using CsCheck;
using DmaLab.Tests.Platform;
using DmaLab.Tests.Replay;

namespace DmaLab.Tests.Cli;

/// <summary>
/// A few fuzz cases through the real binary, so the tables, markup and exit codes see mutated input too: a mutated
/// trace replayed in one of the replay modes, a mutated platform file shown. Each ends with exit 0 and nothing on
/// stderr, or exit 2 and one line on stderr without a stack trace.
/// </summary>
public class CliFuzzTests
{
    static void AssertCleanExit(CliRunner.Result r, string what)
    {
        Assert.True(r.ExitCode is 0 or 2, $"{what}: exit {r.ExitCode}\n{r.Stderr}");
        if (r.ExitCode == 0) Assert.True(r.Stderr.Length == 0, $"{what}: {r.Stderr}");
        else
        {
            Assert.Single(r.Stderr.TrimEnd().Split('\n'));
            Assert.DoesNotContain("   at ", r.Stderr);
        }
        Assert.DoesNotContain('\u001b', r.Stdout);
    }

    static readonly string[][] Modes =
    [
        [], ["--policy", "lazy"], ["--policy", "passthrough"], ["--policy", "swiotlb-force"],
        ["--iommu", "intel-vtd"], ["--iommu", "arm-smmu"], ["--iommu", "arm-smmu-v3"], ["--iommu", "amd-vi"],
    ];

    [Fact]
    public void Mutated_traces_replay_through_the_binary_with_clean_exits() =>
        Gen.ULong.Sample(seed =>
        {
            string dir = CliRunner.TempDir(), trace = Path.Combine(dir, "fuzz.trace");
            File.WriteAllBytes(trace, ReplayFuzzTests.MutatedTrace(seed));
            var mode = Modes[(int)(seed % (ulong)Modes.Length)];
            AssertCleanExit(CliRunner.Run(["replay", trace, .. mode]), $"seed {seed} {string.Join(' ', mode)}");
        }, iter: FuzzBudget.ProcessCases(4), threads: 1);

    [Fact]
    public void Mutated_platform_files_show_through_the_binary_with_clean_exits() =>
        Gen.ULong.Sample(seed =>
        {
            string dir = CliRunner.TempDir(), yaml = Path.Combine(dir, "p.yaml");
            File.WriteAllText(yaml, PlatformFuzzTests.Mutate(seed, out _));
            AssertCleanExit(CliRunner.Run("platform", "show", yaml), $"seed {seed}");
        }, iter: FuzzBudget.ProcessCases(3), threads: 1);
}
