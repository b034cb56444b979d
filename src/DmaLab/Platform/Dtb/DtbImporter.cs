namespace DmaLab.Platform.Dtb;

/// <summary>
/// Turns a device tree into a <see cref="PlatformSpec"/>: memory, reserved memory, IOMMU providers and their
/// masters with IDs, DMA windows, coherency and masks, following what Linux does at boot (drivers/of/device.c
/// of_dma_configure_id(), drivers/iommu/of_iommu.c of_iommu_configure(), drivers/of/platform.c naming).
/// Structural errors in the blob throw <see cref="DtbFormatException"/>; everything else the tree gets wrong
/// (dangling phandles, bad cell counts) becomes a note and the import goes on, as the kernel carries on booting.
/// </summary>
public static class DtbImporter
{
    /// <summary>Parses and imports a blob. Throws <see cref="DtbFormatException"/> for a corrupt blob.</summary>
    public static DtbImport Import(ReadOnlySpan<byte> dtb, string source = "") => Import(FdtReader.Parse(dtb), source);

    /// <summary>Reads (bounded, see <see cref="FdtReader.DefaultMaxSize"/>) and imports a blob from a stream.</summary>
    public static DtbImport Import(Stream stream, string source = "") => Import(FdtReader.Read(stream), source);

    public static DtbImport Import(DeviceTree tree, string source = "")
    {
        var root = tree.Root;
        var report = new DtbImportReport
        {
            Model = root.Property("model")?.String() ?? "",
            Compatible = root.Compatible,
        };
        foreach (var w in tree.Warnings) report.Notes.Add(w);
        var spec = new PlatformSpec
        {
            Name = report.Model.Length > 0 ? report.Model : (report.Compatible.FirstOrDefault() ?? "device tree"),
            Description = $"imported from {(source.Length > 0 ? source : "a device tree")}",
            Source = source,
        };
        ImportCpus(tree, spec, report);
        DtbMemoryImporter.ImportMemory(tree, spec, report);
        var rmemByNode = new Dictionary<DtNode, ReservedMemorySpec>();
        DtbMemoryImporter.ImportReserved(tree, spec, report, rmemByNode);
        DtbMemoryImporter.ImportChosen(tree, spec, report);

        var names = new BusIdNamer(tree);
        var providers = ImportProviders(tree, spec, report, names);
        new MasterImporter(tree, spec, report, names, providers, rmemByNode).Run();
        spec.Notes.AddRange(report.Notes);
        return new DtbImport(spec, report, tree);
    }

    static void ImportCpus(DeviceTree tree, PlatformSpec spec, DtbImportReport report)
    {
        var cpus = tree.Root.Child("cpus");
        if (cpus is null) return;
        int n = 0;
        bool armv7 = false;
        foreach (var c in cpus.Children)
        {
            if (c.DeviceType != "cpu" || !c.IsAvailable) continue;
            n++;
            foreach (var compat in c.Compatible)
                if (compat is "arm,cortex-a5" or "arm,cortex-a7" or "arm,cortex-a8" or "arm,cortex-a9" or "arm,cortex-a12"
                    or "arm,cortex-a15" or "arm,cortex-a17" or "qcom,krait" or "qcom,scorpion" or "marvell,pj4a" or "marvell,pj4b"
                    || compat.StartsWith("arm,arm11", StringComparison.Ordinal) || compat.StartsWith("arm,arm9", StringComparison.Ordinal))
                    armv7 = true;
        }
        if (n > 0) spec.Cpus = n;
        spec.Arch = armv7 ? "arm" : "arm64";
        report.Notes.Add($"arch {spec.Arch} inferred from the CPU compatibles ({n} CPUs)");
    }

    /// <summary>Providers: nodes with #iommu-cells, and legacy arm,smmu nodes that list mmu-masters instead.</summary>
    static Dictionary<DtNode, (IommuSpec Spec, string Model)> ImportProviders(DeviceTree tree, PlatformSpec spec,
        DtbImportReport report, BusIdNamer names)
    {
        var map = new Dictionary<DtNode, (IommuSpec, string)>();
        foreach (var node in tree.AllNodes())
        {
            bool hasCells = node.TryGetU32("#iommu-cells", out uint cells);
            if (!hasCells && !node.Has("mmu-masters")) continue;
            var compat = node.Compatible;
            string model = IommuBinding.ModelFor(compat, out var matched);
            string compatible = matched ?? (compat.Count > 0 ? compat[0] : "");
            if (model == IommuBinding.Unknown)
                report.Notes.Add($"warning: {node.Path}: IOMMU provider \"{compatible}\" is not known to DmaLab; imported as Unknown (no translation model)");
            else if (IommuBinding.ApproximationNote(model, compatible) is { } approx && !report.Notes.Contains(approx))
                report.Notes.Add(approx);
            if (!hasCells)
                report.Notes.Add($"{node.Path}: legacy mmu-masters binding (no #iommu-cells)");
            var iommu = new IommuSpec
            {
                Name = names.NameOf(node),
                Model = model,
                Compatible = compatible,
                Path = node.Path,
                Cells = hasCells ? (int)Math.Min(cells, int.MaxValue) : 0,
                Enabled = node.IsAvailable,
                CoherentWalk = OfAddress.IsDmaCoherent(tree, node),
            };
            spec.Iommus.Add(iommu);
            report.Iommus.Add(new IommuReport(node.Path, iommu.Name, compatible, model, iommu.Cells, iommu.Enabled));
            map[node] = (iommu, model);
        }
        return map;
    }
}
