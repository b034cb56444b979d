using DmaLab.Cli;

namespace DmaLab.Tests.Cli;

/// <summary>Output files are replaced whole or not at all, never through a symbolic link, and a run's pair of
/// reports lands together.</summary>
public class SafeOutputTests
{
    static string Trace => CliRunner.DataPath("traces", "h100-cuda-pinned.trace.xz");

    [Fact]
    public void A_bad_input_leaves_the_previous_timeline_whole()
    {
        string dir = CliRunner.TempDir(), timeline = Path.Combine(dir, "timeline.json");
        File.WriteAllText(timeline, "previous");
        var r = CliRunner.Run("replay", Path.Combine(dir, "missing.trace"), "--timeline", timeline);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("previous", File.ReadAllText(timeline));
        Assert.Equal([timeline], Directory.GetFiles(dir));
    }

    [Fact]
    public void Symbolic_links_planted_at_outputs_are_refused_and_their_targets_untouched()
    {
        string dir = CliRunner.TempDir(), target = Path.Combine(dir, "precious"), outDir = Path.Combine(dir, "out");
        File.WriteAllText(target, "precious");
        Directory.CreateDirectory(outDir);
        File.CreateSymbolicLink(Path.Combine(outDir, "replay.json"), target);
        File.CreateSymbolicLink(Path.Combine(dir, "timeline.json"), target);
        var r = CliRunner.Run("replay", Trace, "--out", outDir);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("replay.json: is a symbolic link", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        r = CliRunner.Run("replay", Trace, "--timeline", Path.Combine(dir, "timeline.json"));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("precious", File.ReadAllText(target));
        Assert.False(File.Exists(Path.Combine(outDir, "replay.html")));
    }

    [Fact]
    public async Task Files_written_together_land_together_and_leave_no_temporary_files()
    {
        string dir = CliRunner.TempDir();
        string a = Path.Combine(dir, "report.json"), b = Path.Combine(dir, "report.html");
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
        {
            for (int i = 0; i < 40; i++) SafeOutput.WriteTogether((a, $"{w}:{i}"), (b, $"{w}:{i}"));
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(writers);
        Assert.Equal(File.ReadAllText(a), File.ReadAllText(b));
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void An_uncommitted_output_leaves_the_target_as_it_was()
    {
        string dir = CliRunner.TempDir(), path = Path.Combine(dir, "t.json");
        File.WriteAllText(path, "old");
        using (var o = SafeOutput.Create(path)) o.Stream.Write("new, but the work failed"u8);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir));
    }

    [Fact]
    public void A_directory_in_the_place_of_an_output_is_a_usage_error()
    {
        string dir = CliRunner.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "report.json"));
        var r = CliRunner.Run("run", "--workload", "zone-pressure", "--out", dir);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("is a directory", r.Stderr);
    }
}
