using System.Globalization;
using Spectre.Console;

namespace DmaLab.Cli;

/// <summary>The width text is fitted to: --width, else $COLUMNS, else the terminal's, else 80 (a pipe).</summary>
public static class Terminal
{
    public static int Width { get; private set; } = 80;

    public static void Configure(int? width)
    {
        Width = width
            ?? (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), NumberStyles.None, CultureInfo.InvariantCulture, out int c) && c >= 20 ? c
            : !Console.IsOutputRedirected && TryWindowWidth() is int w && w >= 20 ? w : 80);
        AnsiConsole.Profile.Width = Width;
    }

    /// <summary>Writes a sentence wrapped at spaces to <see cref="Width"/>; a no-break space (U+00A0) keeps a figure
    /// and its unit together and prints as a space. Control characters from inputs are shown as \xNN (TerminalText).</summary>
    public static void Prose(string text)
    {
        foreach (var line in TextTable.Wrap(TerminalText.PlainLines(text), Width)) Console.Out.Write(line.Replace('\u00a0', ' ') + "\n");
    }

    static int? TryWindowWidth()
    {
        try { return Console.WindowWidth; }
        catch (IOException) { return null; }
        catch (PlatformNotSupportedException) { return null; }
    }
}
