using System.Globalization;
using System.Text.RegularExpressions;
using SharpCompress.Compressors.Xz;

namespace DmaLab.Tests.DmaIommu;

/// <summary>One dma:* / iommu:* event taken from a capture, reduced to what the IOVA golden tests need.</summary>
internal sealed record TraceEvent(int Line, int Cpu, string Pid, int Level, string Name, string Device, ulong DmaAddr, ulong Size,
    ulong Phys, ulong[] DmaAddrs, ulong[] Sizes, ulong[] PhysAddrs, ulong Iova);

/// <summary>
/// Minimal reader for the sample ftrace captures (the real streaming reader lives in Trace/): decompresses the .xz
/// and keeps the DMA-API events, the iommu map events and attach events, plus the platform text's PCI windows.
/// </summary>
internal static partial class TraceSample
{
    public static string DataPath(string name) => Path.Combine(AppContext.BaseDirectory, "data", "traces", name);

    public static IEnumerable<string> Lines(string traceName)
    {
        using var file = File.OpenRead(DataPath(traceName));
        using var xz = new XZStream(file);
        using var reader = new StreamReader(xz);
        string? line;
        while ((line = reader.ReadLine()) != null) yield return line;
    }

    [GeneratedRegex(@"^\s*(?<task>.+?)-(?<pid>\d+)\s+\[(?<cpu>\d+)\]\s+(?<flags>\S+)\s+[\d.]+:\s+(?<ev>\w+):\s+(?<rest>.*)$")]
    private static partial Regex EventLine();

    [GeneratedRegex(@"(\w+)=(\{[^}]*\}|\S+)")]
    private static partial Regex Field();

    public static List<TraceEvent> Events(string traceName)
    {
        var list = new List<TraceEvent>();
        int n = 0;
        foreach (var line in Lines(traceName))
        {
            n++;
            if (line.StartsWith('#')) continue;
            var m = EventLine().Match(line);
            if (!m.Success) continue;
            string ev = m.Groups["ev"].Value;
            string rest = m.Groups["rest"].Value;
            if (!ev.StartsWith("dma_", StringComparison.Ordinal) && ev is not ("map" or "unmap" or "attach_device_to_domain")) continue;
            var fields = new Dictionary<string, string>();
            foreach (Match f in Field().Matches(rest)) fields[f.Groups[1].Value] = f.Groups[2].Value;
            string device = ev switch
            {
                "map" or "unmap" => "",
                "attach_device_to_domain" => fields.GetValueOrDefault("device", ""),
                _ => rest.Split(' ', 2)[0],
            };
            list.Add(new TraceEvent(n, int.Parse(m.Groups["cpu"].Value, CultureInfo.InvariantCulture), m.Groups["pid"].Value,
                // ftrace flags "d.h1.": the third character says softirq (s), hardirq (h) or hardirq in softirq (H).
                m.Groups["flags"].Value.Length > 2 ? m.Groups["flags"].Value[2] switch { 's' => 1, 'h' or 'H' => 2, _ => 0 } : 0,
                ev, device,
                Hex(fields.GetValueOrDefault("dma_addr")),
                Dec(fields.GetValueOrDefault("size")),
                ev == "map" ? Hex(fields.GetValueOrDefault("paddr")) : Hex(fields.GetValueOrDefault("phys_addr")),
                Array(fields.GetValueOrDefault("dma_addrs")), Array(fields.GetValueOrDefault("sizes")),
                Array(fields.GetValueOrDefault("phys_addrs")), Hex(fields.GetValueOrDefault("iova"))));
        }
        return list;
    }

    static ulong Hex(string? s)
    {
        if (string.IsNullOrEmpty(s)) return 0;
        if (s.StartsWith("0x", StringComparison.Ordinal)) s = s[2..];
        return ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    static ulong Dec(string? s) => string.IsNullOrEmpty(s) ? 0 : ulong.Parse(s, CultureInfo.InvariantCulture);

    static ulong[] Array(string? s)
    {
        if (string.IsNullOrEmpty(s) || s.Length < 2) return [];
        return s[1..^1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Hex).ToArray();
    }

    [GeneratedRegex(@"root bus resource \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)")]
    private static partial Regex MemWindow();

    /// <summary>The PCI host bridge memory windows the platform text's dmesg lists (x86 and arm64 virt: offset 0).</summary>
    public static List<(ulong Start, ulong End, ulong Offset)> PciMemWindows(string platformName)
    {
        var windows = new List<(ulong, ulong, ulong)>();
        foreach (var line in File.ReadLines(DataPath(platformName)))
        {
            var m = MemWindow().Match(line);
            if (!m.Success) continue;
            var w = (Hex(m.Groups[1].Value), Hex(m.Groups[2].Value), 0UL);
            if (!windows.Contains(w)) windows.Add(w);
        }
        return windows;
    }
}
