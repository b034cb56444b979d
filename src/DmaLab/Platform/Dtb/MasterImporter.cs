namespace DmaLab.Platform.Dtb;

/// <summary>
/// Finds the DMA masters of a tree and what Linux would configure for each: the IOMMU(s) and IDs (iommus,
/// legacy mmu-masters, a PCI host bridge's iommu-map), dma-ranges window and mask, coherency and DMA pools.
/// Linux: drivers/iommu/of_iommu.c (of_iommu_configure_dev(), of_pci_iommu_init()), drivers/of/base.c
/// (of_map_id()), drivers/of/device.c (of_dma_configure_id()), arm-smmu.c (arm_smmu_register_legacy_master()).
/// </summary>
internal sealed class MasterImporter(DeviceTree tree, PlatformSpec spec, DtbImportReport report, BusIdNamer names,
    Dictionary<DtNode, (IommuSpec Spec, string Model)> providers,
    Dictionary<DtNode, ReservedMemorySpec> rmem)
{
    readonly Dictionary<DtNode, List<(DtNode Provider, List<uint> Ids)>> _legacy = new();

    public void Run()
    {
        CollectLegacyMasters();
        foreach (var node in tree.AllNodes())
        {
            var refs = new List<(DtNode Provider, List<uint> Ids)>();
            bool isMaster = false;
            if (node.Has("iommus"))
            {
                isMaster = true;
                ParseIommus(node, refs);
            }
            if (_legacy.TryGetValue(node, out var legacy))
            {
                isMaster = true;
                if (refs.Count == 0) refs.AddRange(legacy);
                else report.Notes.Add($"{node.Path}: both iommus and a legacy mmu-masters reference; the iommus binding is used");
            }
            var map = new List<IommuMapSpec>();
            var mapReport = new List<IommuMapReport>();
            uint? mapMask = null;
            if (node.Has("iommu-map"))
            {
                isMaster = true;
                mapMask = ParseIommuMap(node, map, mapReport);
            }
            string? pool = PointAtReservedMemory(node);
            if (pool is not null) isMaster = true;
            if (isMaster) AddMaster(node, refs, map, mapReport, mapMask, pool);
        }
    }

    void ParseIommus(DtNode node, List<(DtNode, List<uint>)> refs)
    {
        var entries = PhandleArgs.Parse(tree, node, "iommus", "#iommu-cells", out var problem);
        foreach (var e in entries)
        {
            // of_iommu_configure_dev() stops at the first entry it cannot parse; an empty phandle is one.
            if (e.Target is null) { report.Notes.Add($"{node.Path}: iommus has an empty (0) phandle; later entries ignored as Linux does"); break; }
            if (!providers.TryGetValue(e.Target, out var p)) break;
            var ids = IommuBinding.DecodeIds(p.Model, e.Target, e.Args);
            int at = refs.FindIndex(r => ReferenceEquals(r.Item1, e.Target));
            if (at >= 0) refs[at].Item2.AddRange(ids);
            else refs.Add((e.Target, ids));
        }
        if (problem is not null) report.Notes.Add(problem);
    }

    /// <summary>arm,smmu legacy binding: mmu-masters = &lt;&amp;master sid...&gt;, the count from the master's #stream-id-cells.</summary>
    void CollectLegacyMasters()
    {
        foreach (var (provider, _) in providers)
        {
            if (!provider.Has("mmu-masters")) continue;
            var entries = PhandleArgs.Parse(tree, provider, "mmu-masters", "#stream-id-cells", out var problem);
            if (problem is not null) report.Notes.Add(problem);
            foreach (var e in entries)
            {
                if (e.Target is null) continue;
                if (!_legacy.TryGetValue(e.Target, out var list)) _legacy[e.Target] = list = new();
                var ids = new List<uint>();
                foreach (var sid in e.Args) ids.Add(sid & 0xffff);
                list.Add((provider, ids));
            }
        }
    }

    /// <summary>iommu-map = &lt;rid-base &amp;iommu iommu-base length&gt;...; Linux: of_map_id().</summary>
    uint? ParseIommuMap(DtNode node, List<IommuMapSpec> map, List<IommuMapReport> mapReport)
    {
        var prop = node.Property("iommu-map")!;
        uint mask = node.TryGetU32("iommu-map-mask", out uint m) ? m : 0xffffffffu;
        if (prop.Length == 0 || prop.Length % 16 != 0)
        {
            report.Notes.Add($"{node.Path}: bad iommu-map length {prop.Length} (must be a non-zero multiple of 16); Linux rejects the map");
            return mask;
        }
        for (int i = 0; i < prop.CellCount; i += 4)
        {
            uint ridBase = prop.Cell(i), ph = prop.Cell(i + 1), outBase = prop.Cell(i + 2), len = prop.Cell(i + 3);
            if ((ridBase & ~mask) != 0)
                report.Notes.Add($"{node.Path}: iommu-map entry {i / 4}: iommu-map-mask 0x{mask:x} ignores bits of rid-base 0x{ridBase:x}; Linux fails lookups reaching it");
            var target = tree.FindByPhandle(ph);
            string? name = null, path = null;
            if (target is not null && providers.TryGetValue(target, out var p)) { name = p.Spec.Name; path = target.Path; }
            else report.Notes.Add($"{node.Path}: iommu-map entry {i / 4} refers to phandle 0x{ph:x}, which is no IOMMU provider");
            map.Add(new IommuMapSpec { RidBase = ridBase, Iommu = name, IommuBase = outBase, Length = len });
            mapReport.Add(new IommuMapReport(ridBase, path, outBase, len));
        }
        return mask;
    }

    /// <summary>Records the node in every reserved region its memory-region names; returns the first DMA pool.</summary>
    string? PointAtReservedMemory(DtNode node)
    {
        if (!node.Has("memory-region")) return null;
        var entries = PhandleArgs.Parse(tree, node, "memory-region", "#memory-region-cells", out var problem, fixedCells: 0);
        if (problem is not null) report.Notes.Add(problem);
        string? pool = null;
        foreach (var e in entries)
        {
            if (e.Target is null || !rmem.TryGetValue(e.Target, out var r)) continue;
            string name = names.NameOf(node);
            if (!r.Devices.Contains(name)) r.Devices.Add(name);
            if (pool is null && r.Compatible is "shared-dma-pool" or "restricted-dma-pool") pool = r.Name;
        }
        return pool;
    }

    void AddMaster(DtNode node, List<(DtNode Provider, List<uint> Ids)> refs, List<IommuMapSpec> map,
        List<IommuMapReport> mapReport, uint? mapMask, string? pool)
    {
        string name = names.NameOf(node);
        var ranges = OfAddress.GetDmaRanges(tree, node, out var problem);
        if (problem is not null) report.Notes.Add(problem);
        int mask = 32;
        ulong limit = 0;
        var dmaRanges = new List<DmaRangeSpec>();
        if (ranges is not null)
        {
            // of_dma_configure_id(): the bus limit is the highest bus address of the map; the default 32-bit
            // platform mask is narrowed to it.
            ulong end = 0;
            foreach (var r in ranges)
            {
                if (r.Size != 0 && r.BusAddr + r.Size - 1 > end) end = r.BusAddr + r.Size - 1;
                dmaRanges.Add(new DmaRangeSpec { BusAddr = r.BusAddr, CpuAddr = r.CpuAddr, Size = r.Size });
            }
            int bits = end == 0 ? 1 : 64 - System.Numerics.BitOperations.LeadingZeroCount(end);
            mask = Math.Min(32, bits);
            if (mask < 12)
            {
                // A window below one page cannot carry DMA; keep the mask a usable width and say so.
                report.Notes.Add($"{node.Path}: dma-ranges limit 0x{end:x} implies a {mask}-bit mask; raised to 12 bits");
                mask = 12;
            }
            limit = end;
        }
        bool coherent = OfAddress.IsDmaCoherent(tree, node);
        var dev = new DeviceSpec
        {
            Name = name,
            Bus = "platform",
            BusId = name,
            Path = node.Path,
            Kind = "generic",
            DmaMask = mask,
            Coherent = coherent,
            DmaRanges = dmaRanges,
            BusDmaLimit = limit,
            Enabled = node.IsAvailable,
            Compatible = node.Compatible.FirstOrDefault(),
            MemoryRegion = pool,
            IommuMap = map,
            IommuMapMask = mapMask ?? 0xffffffffu,
        };
        var refReports = new List<MasterIommuRef>();
        foreach (var (p, ids) in refs)
        {
            var ps = providers[p].Spec;
            if (dev.Iommu is null) { dev.Iommu = ps.Name; dev.StreamIds = ids; }
            else dev.ExtraIommus.Add(ps.Name);
            refReports.Add(new MasterIommuRef(p.Path, ids));
        }
        if (dev.Iommu is null && map.Count > 0) dev.Iommu = map.Find(e => e.Iommu is not null)?.Iommu;
        string? iommuPath = refs.Count > 0 ? refs[0].Provider.Path : mapReport.Find(e => e.Iommu is not null)?.Iommu;
        spec.Devices.Add(dev);
        report.Masters.Add(new MasterReport(node.Path, name, iommuPath, dev.StreamIds, refReports, coherent,
            ranges ?? new List<DmaRange>(), mask, limit, dev.Enabled, mapReport, mapMask, pool));
    }
}
