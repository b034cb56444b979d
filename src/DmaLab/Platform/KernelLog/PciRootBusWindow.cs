using System.Globalization;
using System.Text.RegularExpressions;

namespace DmaLab.Platform.KernelLog;

/// <summary>
/// One PCI host bridge memory window as the kernel log prints it (Linux: drivers/pci/probe.c,
/// pci_register_host_bridge(): "root bus resource %pR" plus " (bus address [%#010llx-%#010llx])" when the bus sees it
/// at another address). iommu-dma keeps every such window out of PCI devices' IOVA space
/// (drivers/iommu/dma-iommu.c, iova_reserve_pci_windows()).
/// </summary>
public static partial class PciRootBusWindow
{
    [GeneratedRegex(@"root bus resource \[mem 0x([0-9a-fA-F]+)-0x([0-9a-fA-F]+)[^\]]*\](?: \(bus address \[0x([0-9a-fA-F]+)-0x([0-9a-fA-F]+)\]\))?")]
    private static partial Regex MemWindow();

    /// <summary>Reads a "root bus resource [mem ...]" line: CPU addresses [Start, End] (inclusive) and the offset CPU
    /// address minus bus address (0 when the line names no bus address). A line of that shape whose addresses the
    /// kernel could not have printed (%pR of a resource_size_t: beyond 64 bits, end below start, a bus address above
    /// the CPU address) sets <paramref name="problem"/> with the 1-based column in <paramref name="line"/>.</summary>
    public static bool TryParse(string line, out (ulong Start, ulong End, ulong Offset) window, out (int Column, string Expected)? problem)
    {
        window = default;
        problem = null;
        var m = MemWindow().Match(line);
        if (!m.Success) return false;
        if (!Hex(m.Groups[1].Value, out ulong s) || !Hex(m.Groups[2].Value, out ulong e) || s > e)
        {
            problem = (m.Groups[1].Index + 1, "a PCI window [mem 0xSTART-0xEND] of 64-bit addresses with START <= END");
            return false;
        }
        ulong bus = s;
        if (m.Groups[3].Success && (!Hex(m.Groups[3].Value, out bus) || bus > s))
        {
            problem = (m.Groups[3].Index + 1, "a 64-bit bus address at or below the window's CPU address");
            return false;
        }
        window = (s, e, s - bus);
        return true;
    }

    static bool Hex(string s, out ulong v) => ulong.TryParse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out v);
}
