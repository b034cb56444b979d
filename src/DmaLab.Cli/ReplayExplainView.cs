using System.IO.Compression;
using System.Text;
using SharpCompress.Compressors.Xz;

namespace DmaLab.Cli;

/// <summary>`dmalab replay --explain LINE`: the trace lines around it and what the replay decided for it.</summary>
public static class ReplayExplainView
{
    const int Around = 6;

    public static void Render(Replay.ReplayReport r, string input, long line)
    {
        Terminal.Prose($"explain line {line}:");
        if (input != "-" && File.Exists(input))
        {
            foreach (var (n, text) in LinesAround(input, line, Around))
                Console.WriteLine($"{(n == line ? ">" : " ")} {n,8}  {Printable(text)}");
        }
        if (r.Explain is not { Count: > 0 } said)
        {
            Terminal.Prose("  the replay made no decision for it (not an event line the model replays, or past the end)");
            return;
        }
        foreach (var s in said) Terminal.Prose("  " + s);
    }

    /// <summary>Control characters (escape sequences in a hostile trace) shown as '?'.</summary>
    static string Printable(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char ch in s) sb.Append(ch < 0x20 && ch != '\t' || ch is >= '\u007f' and <= '\u009f' ? '?' : ch);
        return sb.ToString();
    }

    /// <summary>The text lines within <paramref name="radius"/> of <paramref name="line"/> (1-based), decompressing
    /// .xz and .gz by their magic; a binary file (a trace-cmd .dat) gives none.</summary>
    static IEnumerable<(long Line, string Text)> LinesAround(string path, long line, int radius)
    {
        using var file = File.OpenRead(path);
        var head = new byte[6];
        int got = file.Read(head, 0, head.Length);
        file.Position = 0;
        Stream text = got >= 6 && head[0] == 0xFD && head[1] == (byte)'7' && head[2] == (byte)'z' ? new XZStream(file)
            : got >= 2 && head[0] == 0x1F && head[1] == 0x8B ? new GZipStream(file, CompressionMode.Decompress) : file;
        if (got >= 4 && head[0] == 0x17 && head[1] == 0x08 && head[2] == 0x44) yield break; // trace-cmd .dat
        using var reader = new StreamReader(text, Encoding.UTF8, detectEncodingFromByteOrderMarks: false);
        long n = 0;
        while (reader.ReadLine() is string s)
        {
            n++;
            if (n < line - radius) continue;
            if (n > line + radius) yield break;
            yield return (n, s.Length > 300 ? s[..300] + "…" : s);
        }
    }
}
