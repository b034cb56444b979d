namespace DmaLab.Tests.Cli;

/// <summary>Every command with bad values: one line on stderr in our words (the option and the value or path), exit
/// 2, no stack trace, no .NET type, parameter or exception text.</summary>
public class CliErrorSweepTests
{
    static readonly string Trace = CliRunner.DataPath("traces", "qemu-vtd-strict-sample.trace.xz");
    static readonly string Dtb = CliRunner.DataPath("dtb", "armhf_omap4-panda.dtb");

    /// <summary>Arguments (TEMP stands for a fresh temp directory, FILE for an existing plain file, EMPTY for an
    /// empty trace, HEADER for a trace with only its header) and a fragment the message must contain.</summary>
    public static TheoryData<string[], string> BadCommandLines => new()
    {
        { ["--versoin"], "did you mean --version?" },
        { ["replya", Trace], "did you mean replay?" },
        { ["replay", "--chek", Trace], "did you mean --check?" },
        { [], "needs a command: run, replay" },
        { ["run", "--seed", "abc"], "--seed abc: expected a whole number" },
        { ["run", "--out", "/proc/forbidden"], "--out /proc/forbidden: cannot create the directory" },
        { ["run", "--out", "FILE"], "is a file, expected a directory" },
        { ["run", "--platform", "x86-q53"], "did you mean x86-q35?" },
        { ["run", "--workload", "nic-ring"], "--workload nic-ring: unknown workload" },
        { ["run", "--csv", "FILE"], "--csv" },
        { ["replay", "TEMP"], "is a directory, expected a file" },
        { ["replay", "/nonexistent/t.trace"], "trace /nonexistent/t.trace: no such file" },
        { ["replay", "EMPTY"], "no events" },
        { ["replay", "HEADER"], "no events" },
        { ["replay", Trace, "--policy", "strict,bogus"], "--policy strict,bogus: expected one of strict, lazy" },
        { ["replay", Trace, "--iommu", "IntelVtd"], "--iommu IntelVtd: expected one of intel-vtd" },
        { ["replay", Trace, "--timeline", "TEMP"], "--timeline" },
        { ["replay", Trace, "--out", "FILE"], "--out" },
        { ["replay", Trace, "--seed", "-1"], "--seed -1" },
        { ["replay", Trace, "--from", "abc"], "--from abc: expected seconds" },
        { ["replay", Trace, "--from", "2", "--to", "1"], "--to 1: before --from 2" },
        { ["replay", Trace, "--pid", "x"], "--pid x: expected a process id" },
        { ["replay", Trace, "--device", "0000:00:04.1"], "--device 0000:00:04.1: no such device" },
        { ["replay", Trace, "--findings", "some"], "--findings" },
        { ["replay", Trace, "--width", "5"], "--width 5: expected a whole number from 20" },
        { ["replay", Trace, "--platform", "TEMP"], "--platform" },
        { ["replay", Trace, "--dmesg", "TEMP"], "--dmesg" },
        { ["replay", Trace, "--csv", "FILE"], "--csv" },
        { ["bench", "--filter", "nomatch"], "--filter nomatch: matches no scenario" },
        { ["bench", "--threads", "0"], "--threads 0: expected a whole number from 1 to 1024" },
        { ["bench", "--ops", "abc"], "--ops abc" },
        { ["compare"], "needs --workload" },
        { ["compare", "--workload", "nope"], "--workload nope: unknown workload" },
        { ["compare", "--workload", "nic-rings", "--policy", "strict,bogus"], "unknown policy 'bogus'" },
        { ["platform", "show", "nosuch"], "platform nosuch: not a built-in platform" },
        { ["platform", "show", "TEMP"], "is a directory" },
        { ["platform", "import", "/nonexistent/x.dtb"], "no such file" },
        { ["platform", "import", Dtb, "--save", "TEMP"], "--save" },
        { ["platform", "lst"], "did you mean list?" },
        { ["diff", Trace], "diff needs two traces, or one trace and two policies" },
        { ["diff", "/nonexistent/a.trace", Trace], "A /nonexistent/a.trace: no such file" },
        { ["diff", Trace, Trace, "--policy", "strict,lazy,passthrough"], "one policy, or two" },
        { ["completion", "tcsh"], "tcsh" },
    };

    [Theory]
    [MemberData(nameof(BadCommandLines))]
    public void Bad_input_is_one_line_exit_2_in_our_words(string[] args, string expected)
    {
        string dir = CliRunner.TempDir();
        string file = Path.Combine(dir, "plain.txt");
        File.WriteAllText(file, "not a directory\n");
        string empty = Path.Combine(dir, "empty.trace");
        File.WriteAllText(empty, "");
        string header = Path.Combine(dir, "header.trace");
        File.WriteAllText(header, "# tracer: nop\n#\n# entries-in-buffer/entries-written: 0/0   #P:2\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n#              | |         |   |||||     |         |\n");
        var real = args.Select(a => a switch { "TEMP" => dir, "FILE" => file, "EMPTY" => empty, "HEADER" => header, _ => a }).ToArray();
        var r = CliRunner.RunIn(dir, real);
        string err = r.Stderr.TrimEnd();
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode} for {string.Join(' ', args)}: {err}");
        Assert.DoesNotContain('\n', err);
        Assert.StartsWith("dmalab: ", err);
        Assert.Contains(expected, err);
        foreach (var leak in new[] { "   at ", "Exception", "System.", "(Parameter", "Unhandled", "expected type", "DmaLab.Cli" })
            Assert.DoesNotContain(leak, err);
    }
}
