using DmaLab.Platform;

namespace DmaLab.Cli;

/// <summary>Turns a --platform argument (built-in name, YAML file or .dtb) into a validated spec.</summary>
public static class PlatformResolver
{
    public static PlatformSpec Resolve(string nameOrFile)
    {
        if (PlatformLoader.BuiltInNames.Contains(nameOrFile)) return PlatformLoader.LoadBuiltIn(nameOrFile);
        if (!File.Exists(nameOrFile))
            throw new UsageException($"no platform '{nameOrFile}': not a built-in ({string.Join(", ", PlatformLoader.BuiltInNames)}) and no such file");
        using var reader = new StreamReader(nameOrFile);
        return PlatformLoader.Load(reader, nameOrFile);
    }
}
