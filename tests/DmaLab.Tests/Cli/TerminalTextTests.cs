using DmaLab.Cli;

namespace DmaLab.Tests.Cli;

/// <summary>Names from inputs reach the terminal without their control characters (no recolouring, retitling or
/// cursor moves) and without being read as Spectre markup.</summary>
public class TerminalTextTests
{
    [Theory]
    [InlineData("0000:00:04.0", "0000:00:04.0")]
    [InlineData("\u001b[31mred\u001b[0m", "\\x1b[31mred\\x1b[0m")]
    [InlineData("\u001b]0;owned\u0007", "\\x1b]0;owned\\x07")]
    [InlineData("csi\u009b2J del\u007f", "csi\\x9b2J del\\x7f")]
    [InlineData("two\nlines\r", "two\\x0alines\\x0d")]
    public void Control_characters_become_visible_escapes(string input, string expected) =>
        Assert.Equal(expected, TerminalText.Plain(input));

    [Fact]
    public void Markup_is_escaped_and_cell_lines_are_kept() =>
        Assert.Equal("[[bold]]x\\x1b\nsecond", TerminalText.Escape("[bold]x\u001b\nsecond"));

    static bool HasControl(string s) => s.Any(c => c is < ' ' and not '\n' and not '\r' || c is >= '\u007f' and <= '\u009f');

    [Fact]
    public void Replay_tables_show_escape_sequences_in_device_names_as_text()
    {
        string dir = CliRunner.TempDir();
        string trace = Path.Combine(dir, "esc.trace");
        File.WriteAllText(trace, "# tracer: nop\n              ip-187     [000] .....     1.000018: dma_map_page: " +
            "\u001b]0;owned\u0007\u001b[31mred[bold] dir=FROM_DEVICE dma_addr=fff15040 size=1522 phys_addr=11fa8040 attrs=\n");
        var r = CliRunner.Run("replay", trace);
        Assert.Equal(0, r.ExitCode);
        Assert.False(HasControl(r.Stdout), r.Stdout);
        Assert.Contains("\\x1b]0;owned\\x07", r.Stdout);
    }

    [Fact]
    public void A_platform_name_with_escape_sequences_is_shown_as_text()
    {
        string dir = CliRunner.TempDir();
        string yaml = Path.Combine(dir, "p.yaml");
        File.WriteAllText(yaml, "name: \"evil\\e]0;owned\\a\\e[2J\"\narch: \"x86_64\"\nmemory: [{ base: 0, size: 1G }]\n");
        var r = CliRunner.Run("platform", "show", yaml);
        Assert.True(r.ExitCode is 0 or 2, r.Stderr);
        Assert.False(HasControl(r.Stdout + r.Stderr), r.Stdout + r.Stderr);
        Assert.Contains("\\x1b]0;owned", r.Stdout + r.Stderr);
    }

    [Fact]
    public void A_device_tree_model_with_escape_sequences_is_shown_as_text()
    {
        var blob = DmaLab.Tests.Platform.Dtb.FdtBuilder.SmallSoc();
        int at = blob.AsSpan().IndexOf("Test SoC"u8);
        "\u001b]0;ow\u0007x"u8.CopyTo(blob.AsSpan(at));
        string dir = CliRunner.TempDir(), file = Path.Combine(dir, "evil.dtb");
        File.WriteAllBytes(file, blob);
        var r = CliRunner.Run("platform", "import", file);
        Assert.Equal(0, r.ExitCode);
        Assert.False(HasControl(r.Stdout), r.Stdout);
        Assert.Contains("\\x1b]0;ow\\x07x", r.Stdout);
    }
}
