using System.Globalization;

namespace DmaLab.Devices;

/// <summary>
/// A PCI address "DDDD:BB:SS.F" (Linux: pci_name(), PCI_DEVID(), PCI_SLOT(), PCI_FUNC()).
/// The requester ID the IOMMU sees is bus &lt;&lt; 8 | devfn.
/// </summary>
public readonly record struct PciBdf(int Domain, int Bus, int Slot, int Function)
{
    public int Devfn => (Slot << 3) | Function;
    /// <summary>Linux: PCI_DEVID(bus, devfn) — the requester ID used as stream ID / device table index.</summary>
    public ushort RequesterId => (ushort)((Bus << 8) | Devfn);

    /// <summary>Parses "0000:00:1f.2" or "00:1f.2".</summary>
    public static bool TryParse(string? s, out PciBdf bdf)
    {
        bdf = default;
        if (string.IsNullOrEmpty(s)) return false;
        var parts = s.Split(':');
        if (parts.Length is < 2 or > 3) return false;
        int i = 0, domain = 0;
        if (parts.Length == 3 && !int.TryParse(parts[i++], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out domain)) return false;
        if (!int.TryParse(parts[i++], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int bus) || bus > 0xff) return false;
        var sf = parts[i].Split('.');
        if (sf.Length != 2
            || !int.TryParse(sf[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int slot) || slot > 0x1f
            || !int.TryParse(sf[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int fn) || fn > 7) return false;
        bdf = new PciBdf(domain, bus, slot, fn);
        return true;
    }

    /// <summary>The device's BDF from its bus id or name; throws for a PCI device that has neither in BDF form (bad configuration).</summary>
    public static PciBdf Of(Device dev)
    {
        if (TryParse(dev.Spec.BusId, out var b) || TryParse(dev.Name, out b)) return b;
        throw new ArgumentException($"PCI device '{dev.Name}': expected a bus id like 0000:00:04.0 in 'busId' or 'name'");
    }

    public override string ToString() => $"{Domain:x4}:{Bus:x2}:{Slot:x2}.{Function:x}";
}
