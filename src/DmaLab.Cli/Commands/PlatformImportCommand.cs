using System.CommandLine;
using DmaLab.Platform;
using DmaLab.Platform.Dtb;
using Spectre.Console;
using DmaLab.Cli.Report;

namespace DmaLab.Cli.Commands;

/// <summary>dmalab platform import FILE.dtb... [--json] [--save FILE.yaml]</summary>
public static class PlatformImportCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "Device-tree blobs (.dtb)", Arity = ArgumentArity.OneOrMore };
        var json = CommonOptions.Json();
        var save = new Option<string?>("--save") { Description = "Write the imported platform as YAML (one input file only)" };
        var cmd = new Command("import", "Import device trees: IOMMUs and their masters, coherency, DMA windows, reserved memory and CMA") { files, json, save };
        cmd.SetAction(pr =>
        {
            var paths = pr.GetValue(files)!;
            string? savePath = pr.GetValue(save);
            if (savePath is not null && paths.Length != 1) throw new UsageException("--save takes exactly one input file");
            if (savePath is not null) SafeOutput.CheckPath(savePath);
            bool asJson = pr.GetValue(json), many = paths.Length > 1, failed = false;
            foreach (var path in paths)
            {
                DtbImport import;
                try
                {
                    using var s = File.OpenRead(path);
                    import = DtbImporter.Import(s, path);
                }
                catch (Exception e) when (e is DtbFormatException or IOException or UnauthorizedAccessException)
                {
                    failed = true;
                    if (asJson) Console.WriteLine(DtbReportJson.SerializeError(path, e.Message));
                    else Console.Error.WriteLine($"dmalab: {TerminalText.Plain(path)}: {TerminalText.Plain(e.Message.ReplaceLineEndings(" "))}");
                    continue;
                }
                if (asJson) Console.WriteLine(DtbReportJson.Serialize(import.Report, many ? path : null, indented: !many));
                else Render(path, import.Report);
                if (savePath is not null)
                {
                    SafeOutput.WriteAllText(savePath, PlatformLoader.Save(import.Platform));
                    if (!asJson) AnsiConsole.MarkupLine($"saved [bold]{TerminalText.Escape(savePath)}[/]");
                }
            }
            return failed ? ExitCodes.BadInput : ExitCodes.Ok;
        });
        return cmd;
    }

    static void Render(string path, DtbImportReport r)
    {
        AnsiConsole.MarkupLine($"[bold]{TerminalText.Escape(path)}[/]: {TerminalText.Escape(r.Model)} ({TerminalText.Escape(string.Join(", ", r.Compatible))})");
        var t = new Table().Title("IOMMU instances and their masters").AddColumns("IOMMU", "Compatible", "Driver model", "Cells", "Enabled", "Masters (ids)");
        foreach (var i in r.Iommus)
        {
            var masters = r.Masters.Where(m => m.IommuRefs.Any(x => x.Iommu == i.Path) || m.Iommu == i.Path)
                .Select(m => m.Name + (m.Ids.Count > 0 ? " (" + string.Join(",", m.Ids.Select(x => $"0x{x:x}")) + ")" : ""));
            t.AddRow(TerminalText.Escape(i.Path), TerminalText.Escape(i.Compatible), i.Driver, i.Cells.ToString(), i.Enabled ? "yes" : "no", TerminalText.Escape(string.Join("\n", masters)));
        }
        AnsiConsole.Write(t);
        var m2 = new Table().Title("DMA masters").AddColumns("Master", "Coherent", "Mask", "DMA windows (bus -> cpu)", "Enabled");
        foreach (var m in r.Masters)
            m2.AddRow(TerminalText.Escape(m.Path), m.Coherent ? "coherent" : "non-coherent", $"{m.Mask}-bit",
                TerminalText.Escape(string.Join(" ", m.DmaRanges.Select(d => $"0x{d.BusAddr:x}->0x{d.CpuAddr:x}+0x{d.Size:x}"))), m.Enabled ? "yes" : "no");
        AnsiConsole.Write(m2);
        if (r.ReservedMemory.Count > 0)
        {
            var rm = new Table().Title("Reserved memory and CMA").AddColumns("Node", "Base", "Size", "Kind");
            foreach (var x in r.ReservedMemory)
                rm.AddRow(TerminalText.Escape(x.Path), x.Base is ulong b ? $"0x{b:x}" : "dynamic", Units.Bytes(x.Size),
                    TerminalText.Escape(string.Join(" ", new[] { x.Compatible, x.Reusable ? "reusable (CMA)" : "", x.NoMap ? "no-map" : "" }.Where(s => s.Length > 0))));
            AnsiConsole.Write(rm);
        }
        foreach (var n in r.Notes) AnsiConsole.MarkupLine($"[yellow]note:[/] {TerminalText.Escape(n)}");
    }
}
