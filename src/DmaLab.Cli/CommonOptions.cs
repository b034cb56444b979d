using System.CommandLine;

namespace DmaLab.Cli;

/// <summary>Options shared by every command.</summary>
public static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Print machine-readable JSON on stdout instead of tables" };
    public static Option<ulong> Seed() => new("--seed") { Description = "Seed for every random choice in the model (same seed, same output)", DefaultValueFactory = _ => 1 };
    public static Option<string> Platform() => new("--platform", "-p")
    {
        Description = "Built-in platform name, a platform YAML file, or a device-tree blob (.dtb)",
        DefaultValueFactory = _ => DmaLab.Platform.PlatformLoader.DefaultPlatform,
    };
    public static Option<string> Out() => new("--out", "-o") { Description = "Directory for report.json and report.html", DefaultValueFactory = _ => "dmalab-out" };
}
