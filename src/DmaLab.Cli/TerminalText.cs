using System.Text;
using Spectre.Console;

namespace DmaLab.Cli;

/// <summary>
/// Text from an input (a device name in a trace, a DTB's model, a platform file's name, an error message quoting
/// them) on its way to the terminal: control characters (C0 including ESC and BEL, DEL, C1 including CSI and OSC's
/// introducers) would move the cursor, recolour or retitle the terminal, so each is shown as a visible \xNN escape
/// instead; <see cref="Escape"/> also escapes Spectre markup so "[...]" in a name is text, not a style.
/// </summary>
public static class TerminalText
{
    /// <summary>The text with every control character written as \xNN (tab, CR and LF too: a cell or a one-line
    /// message must stay one line).</summary>
    public static string Plain(string? s)
    {
        if (string.IsNullOrEmpty(s)) return "";
        int i = 0;
        while (i < s.Length && !IsControl(s[i])) i++;
        if (i == s.Length) return s;
        var sb = new StringBuilder(s.Length + 8).Append(s, 0, i);
        for (; i < s.Length; i++)
        {
            char c = s[i];
            if (IsControl(c)) sb.Append("\\x").Append(((int)c).ToString("x2"));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary><see cref="Plain"/> line by line: a table cell or a paragraph may hold several lines.</summary>
    public static string PlainLines(string? s) =>
        s is null || !s.Contains('\n') ? Plain(s) : string.Join("\n", s.Split('\n').Select(Plain));

    /// <summary><see cref="PlainLines"/>, then Spectre markup escaped: for markup lines.</summary>
    public static string Escape(string? s) => Markup.Escape(PlainLines(s));

    static bool IsControl(char c) => c < 0x20 || c is >= '\u007f' and <= '\u009f';
}
