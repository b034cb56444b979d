using DmaLab.Platform;
using Spectre.Console;

namespace DmaLab.Cli;

/// <summary>Renders a platform as tables (IOMMU models by their kernel driver names).</summary>
public static class PlatformView
{
    public static void Render(PlatformSpec s)
    {
        AnsiConsole.MarkupLine($"[bold]{TerminalText.Escape(s.Name)}[/] ({TerminalText.Escape(s.Arch)}, {s.Cpus} CPUs, {s.CacheLineSize}-byte lines) — {TerminalText.Escape(s.Description)}");
        var mem = new TextTable { Title = "Memory" }.Column("Region").Column("Base").Column("Size", ColumnKind.Number).Column("Flags", ColumnKind.Prose);
        foreach (var m in s.Memory) mem.Row("DRAM", $"0x{m.Base:x}", Units.Bytes(m.Size), "");
        foreach (var r in s.ReservedMemory)
            mem.Row(r.Name, r.Base is ulong b ? $"0x{b:x}" : "dynamic", Units.Bytes(r.Size),
                string.Join(" ", new[] { r.Compatible, r.Reusable ? "reusable(CMA)" : "", r.NoMap ? "no-map" : "", r.CmaDefault ? "linux,cma-default" : "" }.Where(x => x.Length > 0)));
        if (s.Cma.DefaultSize > 0) mem.Row("default CMA", "dynamic", Units.Bytes(s.Cma.DefaultSize), "");
        if (s.Swiotlb.Mode != "noforce") mem.Row("swiotlb", s.Swiotlb.Base is ulong sb ? $"0x{sb:x}" : "boot", Units.Bytes(s.Swiotlb.Size), $"mode={s.Swiotlb.Mode}{(s.Swiotlb.FromCma ? " from CMA" : "")}");
        mem.Write();
        if (s.Iommus.Count > 0)
        {
            var t = new TextTable { Title = "IOMMUs" }.Column("Name").Column("Driver").Column("Compatible").Column("Masters", ColumnKind.Number)
                .Column("Enabled").Column("Invalidation", ColumnKind.Prose);
            foreach (var i in s.Iommus)
                t.Row(i.Name, KernelNames.Iommu(i.Model), i.Compatible, s.Devices.Count(d => d.Iommu == i.Name).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    i.Enabled ? "yes" : "no", Invalidation(s, i));
            t.Write();
        }
        var dev = new TextTable { Title = "Devices" }.Column("Name").Column("Bus").Column("Kind").Column("Mask", ColumnKind.Number).Column("Coherent")
            .Column("IOMMU").Column("IDs", ColumnKind.Prose).Column("DMA ranges", ColumnKind.Prose);
        foreach (var d in s.Devices)
            dev.Row(d.Name, d.Bus, d.Kind, $"{d.DmaMask}-bit", d.Coherent ? "yes" : "no", d.Iommu ?? "-",
                d.Zpci is { } z
                    // a zPCI function has no stream IDs: show its function ID, DMA window and refresh requirement
                    ? $"fid 0x{z.Fid:x}, window 0x{z.StartDma:x}-0x{z.EndDma:x}{(z.TlbRefresh ? ", tlb_refresh" : "")}{(z.Ism ? ", ISM" : "")}"
                    : string.Join(", ", d.StreamIds.Select(x => $"0x{x:x}")),
                string.Join(" ", d.DmaRanges.Select(r => $"bus 0x{r.BusAddr:x}->cpu 0x{r.CpuAddr:x} +{Units.Bytes(r.Size).Replace(" ", "", StringComparison.Ordinal)}")));
        dev.Write();
        foreach (var n in s.Notes) AnsiConsole.MarkupLine($"[yellow]note:[/] {TerminalText.Escape(n)}");
    }

    /// <summary>The DMA domains' invalidation policy behind this IOMMU: the command line's, unless the driver forces
    /// strict (AMD-Vi with NpCache, as in a VM: drivers/iommu/amd/init.c calls iommu_set_dma_strict()).</summary>
    static string Invalidation(PlatformSpec s, IommuSpec i)
    {
        if (s.Kernel.IommuPassthrough) return "passthrough";
        if (i.Model == "AmdIommu" && i.NpCache) return "strict (NpCache: a virtual AMD-Vi)";
        return s.Kernel.IommuStrict ? "strict" : "lazy";
    }
}
