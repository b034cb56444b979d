using System.CommandLine;
using DmaLab.Platform;
using Spectre.Console;

namespace DmaLab.Cli.Commands;

/// <summary>dmalab platform list | show NAME|FILE | import FILE.dtb...</summary>
public static class PlatformCommand
{
    public static Command Create()
    {
        var cmd = new Command("platform", "Built-in platforms, platform files and device-tree import");
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Show());
        cmd.Subcommands.Add(PlatformImportCommand.Create());
        return cmd;
    }

    static Command List()
    {
        var json = CommonOptions.Json();
        var cmd = new Command("list", "List the built-in platforms") { json };
        cmd.SetAction(pr =>
        {
            var specs = PlatformLoader.BuiltInNames.Select(PlatformLoader.LoadBuiltIn).ToList();
            if (pr.GetValue(json))
            {
                Console.WriteLine(JsonOut.Serialize(specs.Select(s => new { name = s.Name, arch = s.Arch, description = s.Description })));
                return ExitCodes.Ok;
            }
            var t = new Table().AddColumns("Name", "Arch", "CPUs", "DRAM", "IOMMUs", "Devices", "Description");
            foreach (var s in specs)
                t.AddRow(TerminalText.Escape(s.Name), TerminalText.Escape(s.Arch), s.Cpus.ToString(), Units.Bytes(s.Memory.Aggregate(0UL, (a, m) => a + m.Size)),
                    s.Iommus.Count.ToString(), s.Devices.Count.ToString(), TerminalText.Escape(s.Description));
            AnsiConsole.Write(t);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static Command Show()
    {
        var json = CommonOptions.Json();
        var name = new Argument<string>("platform") { Description = "Built-in platform name or a platform YAML file" };
        var cmd = new Command("show", "Show a platform: memory, reserved regions, IOMMUs and devices") { name, json };
        cmd.SetAction(pr =>
        {
            var spec = PlatformResolver.Resolve(pr.GetValue(name)!);
            if (pr.GetValue(json)) { Console.WriteLine(JsonOut.Serialize(spec)); return ExitCodes.Ok; }
            PlatformView.Render(spec);
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
