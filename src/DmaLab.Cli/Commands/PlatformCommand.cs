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
                Console.WriteLine(JsonOut.Serialize(new { platforms = specs.Select(s => new { name = s.Name, arch = s.Arch, description = s.Description }) }));
                return ExitCodes.Ok;
            }
            var t = new TextTable().Column("Name").Column("Arch").Column("CPUs", ColumnKind.Number).Column("DRAM", ColumnKind.Number)
                .Column("IOMMUs", ColumnKind.Number).Column("Devices", ColumnKind.Number).Column("Description", ColumnKind.Prose);
            foreach (var s in specs)
                t.Row(s.Name, s.Arch, N(s.Cpus), Units.Bytes(s.Memory.Aggregate(0UL, (a, m) => a + m.Size)), N(s.Iommus.Count), N(s.Devices.Count), s.Description);
            t.Write();
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static string N(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

    static Command Show()
    {
        var json = CommonOptions.Json();
        var name = new Argument<string>("platform") { Description = "Built-in platform name or a platform YAML file" };
        var cmd = new Command("show", "Show a platform: memory, reserved regions, IOMMUs and devices") { name, json };
        cmd.SetAction(pr =>
        {
            var spec = PlatformResolver.Resolve(pr.GetValue(name)!, "platform");
            if (pr.GetValue(json)) { Console.WriteLine(JsonOut.Serialize(spec)); return ExitCodes.Ok; }
            PlatformView.Render(spec);
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
