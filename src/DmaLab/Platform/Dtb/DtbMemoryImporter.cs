using System.Globalization;

namespace DmaLab.Platform.Dtb;

/// <summary>
/// /memory, /reserved-memory, /memreserve/ and /chosen of a tree. Linux: drivers/of/fdt.c
/// (early_init_dt_scan_memory(), early_init_dt_scan_chosen()) and drivers/of/of_reserved_mem.c
/// (fdt_scan_reserved_mem(), __reserved_mem_check_root(), __reserved_mem_alloc_size(), rmem_cma_setup()).
/// </summary>
internal static class DtbMemoryImporter
{
    public static void ImportMemory(DeviceTree tree, PlatformSpec spec, DtbImportReport report)
    {
        int na = OfAddress.BusAddrCells(tree.Root), ns = OfAddress.BusSizeCells(tree.Root);
        foreach (var node in tree.Root.Children)
        {
            if (node.DeviceType != "memory" || !node.IsAvailable) continue;
            var reg = node.Property("linux,usable-memory") is { Length: > 0 } u ? u : node.Property("reg");
            if (reg is null) continue;
            foreach (var (b, s) in Pairs(reg, na, ns))
                if (s != 0) spec.Memory.Add(new MemorySpec { Base = b, Size = s });
        }
        if (spec.Memory.Count == 0)
            report.Notes.Add("no DRAM size in the tree (/memory is absent or its size is left for the bootloader to fill in); the platform has no memory ranges");
    }

    /// <summary>Address/size pairs of a reg-like property; cell counts are the caller's (0 &lt; na,ns &lt;= 4 or none).</summary>
    public static IEnumerable<(ulong Base, ulong Size)> Pairs(DtProperty p, int na, int ns)
    {
        if (na <= 0 || na > 4 || ns < 0 || ns > 4) yield break;
        int one = na + ns;
        for (int i = 0; i + one <= p.CellCount; i += one)
            yield return (p.Number(i, na), p.Number(i + na, ns));
    }

    public static void ImportReserved(DeviceTree tree, PlatformSpec spec, DtbImportReport report,
        Dictionary<DtNode, ReservedMemorySpec> byNode)
    {
        int i = 0;
        foreach (var e in tree.MemoryReservations)
        {
            if (e.Size == 0) continue;
            var name = $"/memreserve/{i++}";
            spec.ReservedMemory.Add(new ReservedMemorySpec { Name = name, Base = e.Address, Size = e.Size });
            report.ReservedMemory.Add(new ReservedMemoryReport(name, e.Address, e.Size, 0, "", false, false, false, new()));
        }

        var rm = tree.Root.Child("reserved-memory");
        if (rm is null) return;
        int na = OfAddress.BusAddrCells(tree.Root), ns = OfAddress.BusSizeCells(tree.Root);
        if (na is <= 0 or > OfAddress.MaxAddrCells || ns is <= 0 or > 2)
        {
            report.Notes.Add($"/reserved-memory: root cell counts #address-cells {na} / #size-cells {ns} cannot describe memory; node ignored");
            return;
        }
        // Linux ignores the whole node when its cells differ from the root's or it has no ranges.
        if (!rm.TryGetU32("#address-cells", out uint rna) || !rm.TryGetU32("#size-cells", out uint rns)
            || rna != na || rns != ns || !rm.Has("ranges"))
        {
            report.Notes.Add("/reserved-memory: #address-cells/#size-cells differ from the root's or ranges is missing; Linux ignores the node, so did we");
            return;
        }
        foreach (var child in rm.Children)
        {
            if (!child.IsAvailable)
            {
                report.Notes.Add($"{child.Path}: disabled reserved-memory node skipped (Linux skips it)");
                continue;
            }
            var compat = child.Compatible;
            string c = compat.Contains("restricted-dma-pool") ? "restricted-dma-pool"
                : compat.Contains("shared-dma-pool") ? "shared-dma-pool"
                : compat.Count > 0 ? compat[0] : "";
            bool noMap = child.Has("no-map"), reusable = child.Has("reusable");
            bool cmaDefault = child.Has("linux,cma-default");
            if (c == "shared-dma-pool" && reusable && noMap)
                report.Notes.Add($"{child.Path}: reusable together with no-map; Linux refuses it as a CMA area (rmem_cma_setup)");

            var reg = child.Property("reg");
            if (reg is not null && reg.Length > 0)
            {
                int k = 0;
                foreach (var (b, s) in Pairs(reg, na, ns))
                {
                    if (s == 0) continue;
                    string name = k == 0 ? child.Path : $"{child.Path}#{k}";
                    var r = new ReservedMemorySpec
                    {
                        Name = name, Base = b, Size = s, Compatible = c, NoMap = noMap, Reusable = reusable,
                        CmaDefault = cmaDefault,
                    };
                    var rr = new ReservedMemoryReport(name, b, s, 0, c, reusable, noMap, cmaDefault, r.Devices);
                    spec.ReservedMemory.Add(r);
                    report.ReservedMemory.Add(rr);
                    if (k == 0) byNode[child] = r;
                    k++;
                }
                continue;
            }
            var sizeProp = child.Property("size");
            if (sizeProp is null || sizeProp.Length != ns * 4 || ns == 0)
            {
                report.Notes.Add($"{child.Path}: reserved-memory node without a usable reg or size; ignored as Linux does");
                continue;
            }
            ulong size = sizeProp.Number(0, ns);
            if (size == 0)
            {
                report.Notes.Add($"{child.Path}: dynamic reserved-memory node with size 0 ignored");
                continue;
            }
            ulong align = child.Property("alignment") is { } ap && ap.Length == ns * 4 ? ap.Number(0, ns) : 0;
            var dyn = new ReservedMemorySpec
            {
                Name = child.Path, Base = null, Size = size, Alignment = align, Compatible = c, NoMap = noMap,
                Reusable = reusable, CmaDefault = cmaDefault,
            };
            if (child.Property("alloc-ranges") is { } ar)
                foreach (var (b, s) in Pairs(ar, na, ns))
                    dyn.AllocRanges.Add(new MemorySpec { Base = b, Size = s });
            var dr = new ReservedMemoryReport(child.Path, null, size, align, c, reusable, noMap, cmaDefault, dyn.Devices);
            spec.ReservedMemory.Add(dyn);
            report.ReservedMemory.Add(dr);
            byNode[child] = dyn;
        }
    }

    /// <summary>/chosen bootargs: the DMA-relevant kernel parameters (cma=, swiotlb=, iommu.passthrough=,
    /// iommu.strict=, iommu.forcedac=).</summary>
    public static void ImportChosen(DeviceTree tree, PlatformSpec spec, DtbImportReport report)
    {
        var chosen = tree.Root.Child("chosen");
        var args = chosen?.Property("bootargs")?.String();
        if (string.IsNullOrWhiteSpace(args)) return;
        report.Notes.Add($"/chosen bootargs: {args}");
        foreach (var word in args.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = word.IndexOf('=');
            if (eq < 0) continue;
            string key = word[..eq], val = word[(eq + 1)..];
            switch (key)
            {
                case "cma" when TryMemSize(val, out ulong cma):
                    spec.Cma.DefaultSize = cma;
                    break;
                case "swiotlb":
                    foreach (var part in val.Split(','))
                    {
                        if (part is "force" or "noforce") spec.Swiotlb.Mode = part;
                        else if (ulong.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out ulong slabs))
                            spec.Swiotlb.Size = slabs << 11; // IO_TLB_SHIFT: 2 KiB slots
                    }
                    break;
                case "iommu.passthrough" when TryBool(val, out bool pt):
                    spec.Kernel.IommuPassthrough = pt;
                    break;
                case "iommu.strict" when TryBool(val, out bool st):
                    spec.Kernel.IommuStrict = st;
                    break;
                case "iommu.forcedac" when TryBool(val, out bool fd):
                    spec.Kernel.ForceDac = fd;
                    break;
            }
        }
    }

    static bool TryBool(string v, out bool b)
    {
        b = v is "1" or "y" or "Y" or "on";
        return b || v is "0" or "n" or "N" or "off";
    }

    /// <summary>Linux memparse(): a number with an optional K/M/G/T suffix.</summary>
    static bool TryMemSize(string v, out ulong size)
    {
        size = 0;
        int at = v.IndexOf('@');
        if (at >= 0) v = v[..at];
        if (v.Length == 0) return false;
        int shift = char.ToUpperInvariant(v[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        if (shift != 0) v = v[..^1];
        bool ok = v.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(v[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out size)
            : ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out size);
        size <<= shift;
        return ok;
    }
}
