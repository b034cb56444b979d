using System.Globalization;
using System.Text.RegularExpressions;
using SharpCompress.Compressors.Xz;

namespace DmaLab.Tests;

/// <summary>One ftrace text event line, split into its header and its fields text.</summary>
internal sealed record SampleTraceLine(int LineNo, string Pid, int Cpu, string Flags, string Event, string Fields);

/// <summary>
/// A deliberately small, regex-based reader of the sample captures in tests/data/traces, used by the golden tests
/// of swiotlb and the IOVA allocator as a check that is independent of the production streaming reader
/// (src/DmaLab/Trace/FtraceReader): a bug there cannot hide the same bug here.
/// </summary>
internal static partial class SampleTraceText
{
    public static string DataPath(string relative) => Path.Combine(AppContext.BaseDirectory, "data", relative);

    /// <summary>The decompressed text lines of a .trace.xz under tests/data.</summary>
    public static IEnumerable<string> Lines(string relative)
    {
        using var file = File.OpenRead(DataPath(relative));
        using var xz = new XZStream(file);
        using var reader = new StreamReader(xz);
        string? line;
        while ((line = reader.ReadLine()) != null) yield return line;
    }

    [GeneratedRegex(@"^\s*(?<task>.+?)-(?<pid>\d+)\s+\[(?<cpu>\d+)\]\s+(?<flags>\S+)\s+(?<ts>\d+\.\d+):\s+(?<event>\w+):\s?(?<fields>.*)$")]
    private static partial Regex EventLine();

    /// <summary>
    /// The event lines of a capture. Comment and empty lines are skipped; any other line that is not an event line
    /// fails with its line number when <paramref name="strict"/>, else is skipped (e.g. lost-events notices).
    /// </summary>
    public static IEnumerable<SampleTraceLine> Events(string relative, bool strict)
    {
        int no = 0;
        foreach (var line in Lines(relative))
        {
            no++;
            if (line.Length == 0 || line[0] == '#') continue;
            var m = EventLine().Match(line);
            if (!m.Success)
            {
                if (strict) throw new FormatException($"{relative}:{no}: not an ftrace event line: {line}");
                continue;
            }
            yield return new SampleTraceLine(no, m.Groups["pid"].Value, int.Parse(m.Groups["cpu"].Value, CultureInfo.InvariantCulture),
                m.Groups["flags"].Value, m.Groups["event"].Value, m.Groups["fields"].Value);
        }
    }

    /// <summary>The value of key=value in a fields text (up to the next space; arrays print without spaces), or null.</summary>
    public static string? Field(string fields, string key)
    {
        int i = 0;
        while (true)
        {
            i = fields.IndexOf(key + "=", i, StringComparison.Ordinal);
            if (i < 0) return null;
            if (i == 0 || fields[i - 1] == ' ') break;
            i += key.Length;
        }
        int start = i + key.Length + 1, end = fields.IndexOf(' ', start);
        return end < 0 ? fields[start..] : fields[start..end];
    }

    /// <summary>Hex with or without 0x; a missing value reads as 0.</summary>
    public static ulong Hex(string? s)
    {
        if (string.IsNullOrEmpty(s)) return 0;
        return ulong.Parse(s.StartsWith("0x", StringComparison.Ordinal) ? s[2..] : s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    public static ulong Dec(string? s) => string.IsNullOrEmpty(s) ? 0 : ulong.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>"{0x1,0x2}" → [1, 2] (hex entries as __print_array prints them); missing → empty.</summary>
    public static ulong[] HexArray(string? s)
    {
        if (string.IsNullOrEmpty(s) || s.Length < 2) return [];
        return s.Trim('{', '}').Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Hex).ToArray();
    }
}
