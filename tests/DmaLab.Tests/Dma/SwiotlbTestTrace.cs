using System.Globalization;
using System.Text.RegularExpressions;
using DmaLab.Dma;
using DmaLab.Trace;
using SharpCompress.Compressors.Xz;

namespace DmaLab.Tests.Dma;

/// <summary>One ftrace text line, split just enough for the swiotlb golden test (the real reader lives in Trace/).</summary>
sealed record TraceLine(int LineNo, int Cpu, string Event, string Fields);

/// <summary>
/// Minimal parsing of the dma:* and swiotlb:* events of a 6.12 tracefs capture. Deliberately small and strict:
/// any line it cannot split fails the test with its line number.
/// </summary>
static partial class SwiotlbTestTrace
{
    [GeneratedRegex(@"^\s*(?<task>.+?)-(?<pid>\d+)\s+\[(?<cpu>\d+)\]\s+(?<flags>\S+)\s+(?<ts>\d+\.\d+):\s+(?<event>\w+):\s?(?<fields>.*)$")]
    private static partial Regex LineRe();

    public static string DataPath(string relative) => Path.Combine(AppContext.BaseDirectory, "data", relative);

    /// <summary>Decompresses a .trace.xz with SharpCompress and yields its event lines.</summary>
    public static List<TraceLine> ReadXz(string relative)
    {
        using var file = File.OpenRead(DataPath(relative));
        using var xz = new XZStream(file);
        using var reader = new StreamReader(xz);
        var lines = new List<TraceLine>();
        int no = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            no++;
            if (line.Length == 0 || line[0] == '#') continue;
            var m = LineRe().Match(line);
            if (!m.Success) throw new FormatException($"trace line {no}: not an ftrace event line: {line}");
            lines.Add(new TraceLine(no, int.Parse(m.Groups["cpu"].Value, CultureInfo.InvariantCulture),
                m.Groups["event"].Value, m.Groups["fields"].Value));
        }
        return lines;
    }

    /// <summary>The value of key=value in a fields string (up to the next space), or null.</summary>
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

    public static ulong Hex(string s) => ulong.Parse(s.StartsWith("0x", StringComparison.Ordinal) ? s[2..] : s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    public static ulong Dec(string s) => ulong.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>"{0x1,0x2}" → [1, 2] (hex entries as __print_array prints them).</summary>
    public static ulong[] HexArray(string s)
    {
        var inner = s.Trim('{', '}');
        return inner.Length == 0 ? [] : inner.Split(',').Select(Hex).ToArray();
    }

    /// <summary>The device name: the first token (dma:* events) or the one after "dev_name:" (swiotlb_bounced).</summary>
    public static string Device(string fields) =>
        fields.StartsWith("dev_name: ", StringComparison.Ordinal) ? fields[10..fields.IndexOf(' ', 10)] : fields[..fields.IndexOf(' ')];

    public static DmaDirection Dir(string fields) =>
        DmaDirectionNames.TryParse(Field(fields, "dir"), out var d) ? d : throw new FormatException($"no dir= in '{fields}'");

    public static DmaAttrs Attrs(string fields)
    {
        var a = Field(fields, "attrs") ?? "";
        var r = DmaAttrs.None;
        foreach (var name in a.Split('|', StringSplitOptions.RemoveEmptyEntries))
            r |= name switch
            {
                "WEAK_ORDERING" => DmaAttrs.WeakOrdering, "WRITE_COMBINE" => DmaAttrs.WriteCombine,
                "NO_KERNEL_MAPPING" => DmaAttrs.NoKernelMapping, "SKIP_CPU_SYNC" => DmaAttrs.SkipCpuSync,
                "FORCE_CONTIGUOUS" => DmaAttrs.ForceContiguous, "ALLOC_SINGLE_PAGES" => DmaAttrs.AllocSinglePages,
                "NO_WARN" => DmaAttrs.NoWarn, "PRIVILEGED" => DmaAttrs.Privileged,
                _ => throw new FormatException($"unknown attr {name}"),
            };
        return r;
    }
}

/// <summary>A trace sink that keeps every event (tests only).</summary>
sealed class CapturingTraceSink : ITraceSink
{
    public List<(int Cpu, string System, string Event, string Fields)> Events { get; } = new();
    public bool Enabled => true;
    public void Write(int cpu, string system, string eventName, string fields) => Events.Add((cpu, system, eventName, fields));
}
