using System.Globalization;
using System.Text.RegularExpressions;

namespace DmaLab.Replay;

/// <summary>
/// Facts a replay can take from the text captured beside a trace (dmesg, /proc/iomem): the PCI host bridge memory
/// windows iommu-dma keeps out of PCI devices' IOVA space (Linux: drivers/iommu/dma-iommu.c,
/// iova_reserve_pci_windows(); dmesg prints them as "pci_bus 0000:00: root bus resource [mem 0x...-0x... window]").
/// </summary>
public static partial class ReplayPlatformText
{
    [GeneratedRegex(@"root bus resource \[mem 0x([0-9a-fA-F]+)-0x([0-9a-fA-F]+)")]
    private static partial Regex MemWindow();

    /// <summary>Distinct memory windows in order of appearance (CPU address = bus address: offset 0 on x86 and on
    /// arm64 virt, whose dmesg prints no offset). A window line whose addresses do not fit 64 bits, or whose end is
    /// below its start, is not one the kernel printed (it prints %pR of a resource_size_t): a
    /// <see cref="Trace.TraceFormatException"/> names <paramref name="source"/>, the line and the column.</summary>
    public static List<(ulong Start, ulong End, ulong Offset)> PciWindows(TextReader text, string source = "kernel log")
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<(ulong, ulong, ulong)>();
        string? line;
        long no = 0;
        while ((line = text.ReadLine()) != null)
        {
            no++;
            var m = MemWindow().Match(line);
            if (!m.Success) continue;
            if (!ulong.TryParse(m.Groups[1].ValueSpan, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
                || !ulong.TryParse(m.Groups[2].ValueSpan, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end) || end < start)
                throw new Trace.TraceFormatException(source, no, -1,
                    $"column {m.Groups[1].Index + 1}: expected a PCI window [mem 0xSTART-0xEND] of 64-bit addresses with START <= END");
            var w = (start, end, 0UL);
            if (!list.Contains(w)) list.Add(w);
        }
        return list;
    }
}
