using System.Text.RegularExpressions;

namespace DmaLab.Tests.DmaIommu;

/// <summary>One dma:* / iommu:* event taken from a capture, reduced to what the IOVA golden tests need.</summary>
internal sealed record TraceEvent(int Line, int Cpu, string Pid, int Level, string Name, string Device, ulong DmaAddr, ulong Size,
    ulong Phys, ulong[] DmaAddrs, ulong[] Sizes, ulong[] PhysAddrs, ulong Iova);

/// <summary>
/// The events the IOVA golden tests replay, taken from a capture with <see cref="SampleTraceText"/> (independent of
/// the production reader), plus the PCI windows of the capture's platform text.
/// </summary>
internal static partial class TraceSample
{
    public static string DataPath(string name) => SampleTraceText.DataPath(Path.Combine("traces", name));

    /// <summary>The DMA-API, iommu map/unmap and attach events of a capture (other lines are skipped).</summary>
    public static List<TraceEvent> Events(string traceName)
    {
        var list = new List<TraceEvent>();
        foreach (var l in SampleTraceText.Events(Path.Combine("traces", traceName), strict: false))
        {
            string ev = l.Event, f = l.Fields;
            if (!ev.StartsWith("dma_", StringComparison.Ordinal) && ev is not ("map" or "unmap" or "attach_device_to_domain")) continue;
            string device = ev switch
            {
                "map" or "unmap" => "",
                "attach_device_to_domain" => SampleTraceText.Field(f, "device") ?? "",
                _ => f.Split(' ', 2)[0],
            };
            list.Add(new TraceEvent(l.LineNo, l.Cpu, l.Pid,
                // ftrace flags "d.h1.": the third character says softirq (s), hardirq (h) or hardirq in softirq (H).
                l.Flags.Length > 2 ? l.Flags[2] switch { 's' => 1, 'h' or 'H' => 2, _ => 0 } : 0,
                ev, device,
                SampleTraceText.Hex(SampleTraceText.Field(f, "dma_addr")),
                SampleTraceText.Dec(SampleTraceText.Field(f, "size")),
                SampleTraceText.Hex(SampleTraceText.Field(f, ev == "map" ? "paddr" : "phys_addr")),
                SampleTraceText.HexArray(SampleTraceText.Field(f, "dma_addrs")), SampleTraceText.HexArray(SampleTraceText.Field(f, "sizes")),
                SampleTraceText.HexArray(SampleTraceText.Field(f, "phys_addrs")), SampleTraceText.Hex(SampleTraceText.Field(f, "iova"))));
        }
        return list;
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
            var w = (SampleTraceText.Hex(m.Groups[1].Value), SampleTraceText.Hex(m.Groups[2].Value), 0UL);
            if (!windows.Contains(w)) windows.Add(w);
        }
        return windows;
    }
}
