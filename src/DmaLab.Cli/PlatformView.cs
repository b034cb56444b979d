using DmaLab.Platform;
using Spectre.Console;

namespace DmaLab.Cli;

/// <summary>Renders a platform as tables.</summary>
public static class PlatformView
{
    public static void Render(PlatformSpec s)
    {
        AnsiConsole.MarkupLine($"[bold]{TerminalText.Escape(s.Name)}[/] ({TerminalText.Escape(s.Arch)}, {s.Cpus} CPUs, {s.CacheLineSize}-byte lines) — {TerminalText.Escape(s.Description)}");
        var mem = new Table().Title("Memory").AddColumns("Region", "Base", "Size", "Flags");
        foreach (var m in s.Memory) mem.AddRow("DRAM", $"0x{m.Base:x}", Units.Bytes(m.Size), "");
        foreach (var r in s.ReservedMemory)
            mem.AddRow(TerminalText.Escape(r.Name), r.Base is ulong b ? $"0x{b:x}" : "dynamic", Units.Bytes(r.Size),
                TerminalText.Escape(string.Join(" ", new[] { r.Compatible, r.Reusable ? "reusable(CMA)" : "", r.NoMap ? "no-map" : "", r.CmaDefault ? "linux,cma-default" : "" }.Where(x => x.Length > 0))));
        if (s.Cma.DefaultSize > 0) mem.AddRow("default CMA", "dynamic", Units.Bytes(s.Cma.DefaultSize), "");
        if (s.Swiotlb.Mode != "noforce") mem.AddRow("swiotlb", s.Swiotlb.Base is ulong sb ? $"0x{sb:x}" : "boot", Units.Bytes(s.Swiotlb.Size), TerminalText.Escape($"mode={s.Swiotlb.Mode}{(s.Swiotlb.FromCma ? " from CMA" : "")}"));
        AnsiConsole.Write(mem);
        if (s.Iommus.Count > 0)
        {
            var t = new Table().Title("IOMMUs").AddColumns("Name", "Model", "Compatible", "Masters", "Enabled");
            foreach (var i in s.Iommus)
                t.AddRow(TerminalText.Escape(i.Name), TerminalText.Escape(i.Model), TerminalText.Escape(i.Compatible), s.Devices.Count(d => d.Iommu == i.Name).ToString(), i.Enabled ? "yes" : "no");
            AnsiConsole.Write(t);
        }
        var dev = new Table().Title("Devices").AddColumns("Name", "Bus", "Kind", "Mask", "Coherent", "IOMMU", "IDs", "DMA ranges");
        foreach (var d in s.Devices)
            dev.AddRow(TerminalText.Escape(d.Name), TerminalText.Escape(d.Bus), TerminalText.Escape(d.Kind), $"{d.DmaMask}-bit", d.Coherent ? "yes" : "no", TerminalText.Escape(d.Iommu ?? "-"),
                d.Zpci is { } z
                    // a zPCI function has no stream IDs: show its function ID, DMA window and refresh requirement
                    ? $"fid 0x{z.Fid:x}, window 0x{z.StartDma:x}-0x{z.EndDma:x}{(z.TlbRefresh ? ", tlb_refresh" : "")}{(z.Ism ? ", ISM" : "")}"
                    : string.Join(",", d.StreamIds.Select(x => $"0x{x:x}")),
                TerminalText.Escape(string.Join(" ", d.DmaRanges.Select(r => $"bus 0x{r.BusAddr:x}->cpu 0x{r.CpuAddr:x} +{Units.Bytes(r.Size)}"))));
        AnsiConsole.Write(dev);
        foreach (var n in s.Notes) AnsiConsole.MarkupLine($"[yellow]note:[/] {TerminalText.Escape(n)}");
    }
}
