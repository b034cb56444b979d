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
            if (savePath is not null)
            {
                CliPaths.InputFile("dtb", paths[0]);
                CliPaths.OutputFile("--save", savePath);
                SafeOutput.CheckPath(savePath);
            }
            bool asJson = pr.GetValue(json), many = paths.Length > 1, failed = false;
            foreach (var path in paths)
            {
                DtbImport import;
                try
                {
                    CliPaths.InputFile("dtb", path);
                    using var s = File.OpenRead(path);
                    import = DtbImporter.Import(s, path);
                }
                catch (Exception e) when (e is DtbFormatException or UsageException or IOException or UnauthorizedAccessException)
                {
                    failed = true;
                    string message = ErrorText.OneLine(e);
                    if (asJson) Console.WriteLine(DtbReportJson.SerializeError(path, message));
                    else Console.Error.WriteLine($"dmalab: {(message.StartsWith(path, StringComparison.Ordinal) || message.StartsWith("dtb ", StringComparison.Ordinal) ? "" : TerminalText.Plain(path) + ": ")}{message}");
                    continue;
                }
                if (asJson) Console.WriteLine(DtbReportJson.Serialize(import.Report, many ? path : null, indented: !many));
                else Render(path, import.Report);
                if (savePath is not null)
                {
                    SafeOutput.WriteAllText(savePath, PlatformLoader.Save(DtbPlatform.Runnable(import, path)));
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
        var t = new TextTable { Title = "IOMMU instances and their masters" }.Column("IOMMU").Column("Compatible").Column("Driver")
            .Column("Cells", ColumnKind.Number).Column("Enabled").Column("Masters (ids)", ColumnKind.Prose);
        foreach (var i in r.Iommus)
        {
            var masters = r.Masters.Where(m => m.IommuRefs.Any(x => x.Iommu == i.Path) || m.Iommu == i.Path)
                .Select(m => m.Name + (m.Ids.Count > 0 ? " (" + string.Join(",", m.Ids.Select(x => $"0x{x:x}")) + ")" : ""));
            t.Row(i.Path, i.Compatible, KernelNames.Iommu(i.Driver), i.Cells.ToString(System.Globalization.CultureInfo.InvariantCulture), i.Enabled ? "yes" : "no", string.Join("\n", masters));
        }
        t.Write();
        var m2 = new TextTable { Title = "DMA masters" }.Column("Master").Column("Coherent").Column("Mask", ColumnKind.Number)
            .Column("DMA windows (bus -> cpu)", ColumnKind.Prose).Column("Enabled");
        foreach (var m in r.Masters)
            m2.Row(m.Path, m.Coherent ? "coherent" : "non-coherent", $"{m.Mask}-bit",
                string.Join(" ", m.DmaRanges.Select(d => $"0x{d.BusAddr:x}->0x{d.CpuAddr:x}+0x{d.Size:x}")), m.Enabled ? "yes" : "no");
        m2.Write();
        if (r.ReservedMemory.Count > 0)
        {
            var rm = new TextTable { Title = "Reserved memory and CMA" }.Column("Node").Column("Base").Column("Size", ColumnKind.Number).Column("Kind", ColumnKind.Prose);
            foreach (var x in r.ReservedMemory)
                rm.Row(x.Path, x.Base is ulong b ? $"0x{b:x}" : "dynamic", Units.Bytes(x.Size),
                    string.Join(" ", new[] { x.Compatible, x.Reusable ? "reusable (CMA)" : "", x.NoMap ? "no-map" : "" }.Where(s => s.Length > 0)));
            rm.Write();
        }
        foreach (var n in r.Notes) AnsiConsole.MarkupLine($"[yellow]note:[/] {TerminalText.Escape(n)}");
    }
}
