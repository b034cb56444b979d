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
    /// arm64 virt, whose dmesg prints no offset).</summary>
    public static List<(ulong Start, ulong End, ulong Offset)> PciWindows(TextReader text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<(ulong, ulong, ulong)>();
        string? line;
        while ((line = text.ReadLine()) != null)
        {
            var m = MemWindow().Match(line);
            if (!m.Success) continue;
            var w = (ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                     ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), 0UL);
            if (w.Item1 <= w.Item2 && !list.Contains(w)) list.Add(w);
        }
        return list;
    }
}
