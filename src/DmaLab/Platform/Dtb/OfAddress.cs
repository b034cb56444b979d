namespace DmaLab.Platform.Dtb;

/// <summary>
/// Address translation through the tree: #address-cells/#size-cells lookup, `ranges` and `dma-ranges`, the DMA
/// parent, dma-coherent and the DMA window of a device. Our own code following the rules of Linux
/// drivers/of/address.c (__of_translate_address(), of_translate_one(), of_dma_get_range(), of_dma_is_coherent())
/// and drivers/of/base.c (of_bus_n_addr_cells()).
/// </summary>
public static class OfAddress
{
    /// <summary>Linux: OF_MAX_ADDR_CELLS.</summary>
    public const int MaxAddrCells = 4;
    /// <summary>Linux: OF_ROOT_NODE_ADDR_CELLS_DEFAULT / OF_ROOT_NODE_SIZE_CELLS_DEFAULT.</summary>
    public const int RootAddrCellsDefault = 1, RootSizeCellsDefault = 1;
    /// <summary>Marks an address that cannot be translated (Linux: OF_BAD_ADDR).</summary>
    public const ulong BadAddr = ulong.MaxValue;
    /// <summary>Bound on parent hops; DMA parents can jump through interconnects and so form cycles.</summary>
    const int MaxHops = 256;

    /// <summary>#address-cells of the node, inherited from its ancestors as Linux does (of_bus_n_addr_cells()).</summary>
    public static int BusAddrCells(DtNode? n)
    {
        for (; n is not null; n = n.Parent)
            if (n.TryGetU32("#address-cells", out uint c)) return (int)Math.Min(c, int.MaxValue);
        return RootAddrCellsDefault;
    }

    /// <summary>#size-cells of the node, inherited (of_bus_n_size_cells()).</summary>
    public static int BusSizeCells(DtNode? n)
    {
        for (; n is not null; n = n.Parent)
            if (n.TryGetU32("#size-cells", out uint c)) return (int)Math.Min(c, int.MaxValue);
        return RootSizeCellsDefault;
    }

    /// <summary>Cells of the node's own reg (its parent's #address-cells; of_n_addr_cells()).</summary>
    public static int AddrCells(DtNode n) => BusAddrCells(n.Parent ?? n);
    public static int SizeCells(DtNode n) => BusSizeCells(n.Parent ?? n);

    /// <summary>Linux: of_match_bus().</summary>
    public static OfBusKind MatchBus(DtNode bus)
    {
        var type = bus.DeviceType;
        if (type is "pci" or "pciex" or "vci" or "ht" || bus.BaseName == "pcie") return OfBusKind.Pci;
        if (bus.BaseName == "isa") return OfBusKind.Isa;
        if (BusAddrCells(bus) == 3) return OfBusKind.DefaultFlags;
        return OfBusKind.Default;
    }

    static int FlagCells(OfBusKind k) => k == OfBusKind.Default ? 0 : 1;

    static void CountCells(OfBusKind bus, DtNode child, out int na, out int ns)
    {
        switch (bus)
        {
            case OfBusKind.Pci: na = 3; ns = 2; break;
            case OfBusKind.Isa: na = 2; ns = 1; break;
            default: na = AddrCells(child); ns = SizeCells(child); break;
        }
    }

    static bool CheckCounts(int na, int ns) => na > 0 && na <= MaxAddrCells && ns > 0;

    static ulong Read(ReadOnlySpan<uint> cells, int count)
    {
        ulong r = 0;
        for (int i = 0; i < count; i++) r = (r << 32) | cells[i];
        return r;
    }

    /// <summary>Linux: of_bus_pci_get_flags() reduced to the space type: 1 = I/O, 2 = memory, 0 = config.</summary>
    static uint PciSpace(uint hi) => ((hi >> 24) & 3) switch { 1 => 1u, 2 or 3 => 2u, _ => 0u };

    /// <summary>Flags of an address as the bus reports them, used to merge contiguous ranges (get_flags()).</summary>
    static uint GetFlags(OfBusKind bus, ReadOnlySpan<uint> addr) => bus switch
    {
        OfBusKind.Pci => PciSpace(addr[0]) | (addr[0] & 0x40000000u),
        OfBusKind.Isa => addr[0] & 1,
        OfBusKind.DefaultFlags => addr[0],
        _ => 2,
    };

    static ulong Map(OfBusKind bus, ReadOnlySpan<uint> addr, ReadOnlySpan<uint> range, int na, int ns, int pna)
    {
        switch (bus)
        {
            case OfBusKind.Pci when PciSpace(addr[0]) != PciSpace(range[0]): return BadAddr;
            case OfBusKind.Isa when ((addr[0] ^ range[0]) & 1) != 0: return BadAddr;
            case OfBusKind.DefaultFlags when addr[0] != range[0]: return BadAddr;
        }
        int f = FlagCells(bus);
        ulong cp = Read(range[f..], na - f);
        ulong s = Read(range[(na + pna)..], ns);
        ulong da = Read(addr[f..], na - f);
        // The kernel's u64 arithmetic wraps; keep that.
        if (da < cp || da >= unchecked(cp + s)) return BadAddr;
        return da - cp;
    }

    /// <summary>Adds offset to the address in parent bus space; flag buses keep their first cell (translate()).</summary>
    static void Translate(OfBusKind pbus, Span<uint> addr, ulong offset, int pna)
    {
        int f = FlagCells(pbus);
        if (pna - f <= 0) return;
        var a = addr.Slice(f, pna - f);
        ulong v = unchecked(Read(a, a.Length) + offset);
        a.Clear();
        if (a.Length > 1) a[^2] = (uint)(v >> 32);
        a[^1] = (uint)v;
    }

    /// <summary>The parent used for DMA: the interconnect named "dma-mem" if any, else the tree parent
    /// (Linux: __of_get_dma_parent()).</summary>
    public static DtNode? DmaParent(DeviceTree tree, DtNode n)
    {
        var names = n.Property("interconnect-names");
        if (names is not null)
        {
            int index = names.Strings().IndexOf("dma-mem");
            if (index >= 0)
            {
                var args = PhandleArgs.Parse(tree, n, "interconnects", "#interconnect-cells", out _);
                if (index < args.Count) return args[index].Target;
            }
        }
        return n.Parent;
    }

    /// <summary>
    /// Translates an address given in <paramref name="node"/>'s parent bus space up to the root through `ranges`
    /// (<paramref name="dma"/> false: absent ranges stops translation) or `dma-ranges` (absent means 1:1, as Linux
    /// treats it). Linux: __of_translate_address().
    /// </summary>
    public static ulong TranslateAddress(DeviceTree tree, DtNode node, ReadOnlySpan<uint> inAddr, bool dma)
    {
        DtNode? Parent(DtNode x) => dma ? DmaParent(tree, x) : x.Parent;
        var dev = node;
        var parent = Parent(dev);
        if (parent is null) return BadAddr;
        var bus = MatchBus(parent);
        CountCells(bus, dev, out int na, out int ns);
        if (!CheckCounts(na, ns) || inAddr.Length < na) return BadAddr;
        Span<uint> addr = stackalloc uint[MaxAddrCells];
        inAddr[..na].CopyTo(addr);
        string rprop = dma ? "dma-ranges" : "ranges";
        Span<uint> r = stackalloc uint[3 * MaxAddrCells];
        for (int hop = 0; hop < MaxHops; hop++)
        {
            dev = parent;
            parent = Parent(dev);
            if (parent is null) return Read(addr, na);
            var pbus = MatchBus(parent);
            CountCells(pbus, dev, out int pna, out int pns);
            if (!CheckCounts(pna, pns)) return BadAddr;

            // of_translate_one()
            var ranges = dev.Property(rprop);
            ulong offset = BadAddr;
            if (ranges is null && !dma) return BadAddr;
            if (ranges is null || ranges.Length == 0)
            {
                offset = Read(addr, na);
                addr[..pna].Clear();
            }
            else
            {
                int rone = na + pna + ns;
                int n = ranges.CellCount;
                if (rone <= 0 || rone > r.Length) return BadAddr;
                for (int i = 0; i + rone <= n; i += rone)
                {
                    for (int k = 0; k < rone; k++) r[k] = ranges.Cell(i + k);
                    offset = Map(bus, addr, r, na, ns, pna);
                    if (offset != BadAddr)
                    {
                        r.Slice(na, pna).CopyTo(addr);
                        break;
                    }
                }
                if (offset == BadAddr) return BadAddr;
            }
            Translate(pbus, addr, offset, pna);
            na = pna;
            ns = pns;
            bus = pbus;
        }
        return BadAddr;
    }

    /// <summary>
    /// The CPU address of the first reg entry, or <see cref="BadAddr"/> (Linux: of_get_address(np, 0) then
    /// of_translate_address()).
    /// </summary>
    public static ulong FirstRegAddress(DeviceTree tree, DtNode node)
    {
        var parent = node.Parent;
        if (parent is null) return BadAddr;
        var bus = MatchBus(parent);
        CountCells(bus, node, out int na, out int ns);
        if (na <= 0 || na > MaxAddrCells) return BadAddr;
        var reg = node.Property(bus == OfBusKind.Pci ? "assigned-addresses" : "reg");
        if (reg is null || reg.CellCount < na + ns) return BadAddr;
        Span<uint> a = stackalloc uint[MaxAddrCells];
        for (int i = 0; i < na; i++) a[i] = reg.Cell(i);
        return TranslateAddress(tree, node, a[..na], dma: false);
    }

    /// <summary>
    /// The DMA windows of a device whose DMA configuration comes from <paramref name="np"/>: the first non-empty
    /// dma-ranges found walking up from np itself, each entry's CPU side translated to the root, contiguous
    /// entries merged. Returns null when Linux's of_dma_get_range() gives -ENODEV (no dma-ranges, or a gap in the
    /// chain: once the walk has moved up, every ancestor must carry dma-ranges) or -EINVAL (none translatable).
    /// </summary>
    public static List<DmaRange>? GetDmaRanges(DeviceTree tree, DtNode np, out string? problem)
    {
        problem = null;
        DtNode? node = np;
        DtProperty? ranges = null;
        bool moved = false;
        for (int hop = 0; node is not null; hop++)
        {
            if (hop >= MaxHops) { problem = "dma parent chain does not end (cycle through interconnects)"; return null; }
            ranges = node.Property("dma-ranges");
            if (ranges is not null && ranges.Length > 0) break;
            if (moved && ranges is null) return null;
            moved = true;
            node = DmaParent(tree, node);
        }
        if (node is null || ranges is null) return null;

        int na = BusAddrCells(node), pna = AddrCells(node), ns = BusSizeCells(node);
        var bus = MatchBus(node);
        int f = FlagCells(bus);
        int one = na + pna + ns;
        if (one <= 0 || na > MaxAddrCells || pna > MaxAddrCells || na < f)
        {
            problem = $"{node.Path}: dma-ranges with unusable cell counts (#address-cells {na}, parent {pna}, #size-cells {ns})";
            return null;
        }
        var list = new List<DmaRange>();
        Span<uint> cpu = stackalloc uint[MaxAddrCells];
        Span<uint> child = stackalloc uint[MaxAddrCells];
        uint lastFlags = 0;
        for (int i = 0; i + one <= ranges.CellCount; i += one)
        {
            for (int k = 0; k < na; k++) child[k] = ranges.Cell(i + k);
            for (int k = 0; k < pna; k++) cpu[k] = ranges.Cell(i + na + k);
            uint flags = GetFlags(bus, child);
            ulong busAddr = Read(child[f..], na - f);
            ulong cpuAddr = TranslateAddress(tree, node, cpu[..pna], dma: true);
            ulong size = ranges.Number(i + na + pna, ns);
            if (cpuAddr == BadAddr)
            {
                problem = $"{node.Path}: dma-ranges entry for bus address 0x{busAddr:x} does not translate to a CPU address";
                continue;
            }
            // of_pci_range_parser_one() merges entries that continue the previous one.
            if (list.Count > 0 && flags == lastFlags)
            {
                var prev = list[^1];
                if (busAddr == prev.BusAddr + prev.Size && cpuAddr == prev.CpuAddr + prev.Size)
                {
                    list[^1] = prev with { Size = prev.Size + size };
                    continue;
                }
            }
            list.Add(new DmaRange(busAddr, cpuAddr, size));
            lastFlags = flags;
        }
        if (list.Count == 0)
        {
            problem ??= $"{node.Path}: dma-ranges has no usable entry";
            return null;
        }
        return list;
    }

    /// <summary>dma-coherent / dma-noncoherent, nearest first along the DMA parents (Linux: of_dma_is_coherent();
    /// dma_default_coherent is false on arm and arm64).</summary>
    public static bool IsDmaCoherent(DeviceTree tree, DtNode np)
    {
        DtNode? n = np;
        for (int hop = 0; n is not null && hop < MaxHops; hop++)
        {
            if (n.Has("dma-coherent")) return true;
            if (n.Has("dma-noncoherent")) return false;
            n = DmaParent(tree, n);
        }
        return false;
    }
}
