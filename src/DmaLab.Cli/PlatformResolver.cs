using DmaLab.Platform;

namespace DmaLab.Cli;

/// <summary>Turns a --platform argument (built-in name, YAML file or .dtb) into a validated spec.</summary>
public static class PlatformResolver
{
    public static PlatformSpec Resolve(string nameOrFile, string option = "--platform")
    {
        if (PlatformLoader.BuiltInNames.Contains(nameOrFile)) return PlatformLoader.LoadBuiltIn(nameOrFile);
        if (!File.Exists(nameOrFile) && !Directory.Exists(nameOrFile))
            throw new UsageException($"{option} {nameOrFile}: not a built-in platform ({string.Join(", ", PlatformLoader.BuiltInNames)}) and no such file" +
                (ParseErrors.Nearest(nameOrFile, PlatformLoader.BuiltInNames) is string n ? $"; did you mean {n}?" : ""));
        CliPaths.InputFile(option, nameOrFile);
        if (nameOrFile.EndsWith(".dtb", StringComparison.OrdinalIgnoreCase) || IsFdt(nameOrFile))
        {
            using var s = File.OpenRead(nameOrFile);
            return DtbPlatform.Load(s, nameOrFile);
        }
        using var reader = new StreamReader(nameOrFile);
        return PlatformLoader.Load(reader, nameOrFile);
    }

    /// <summary>A flattened device tree starts with the big-endian magic 0xd00dfeed.</summary>
    static bool IsFdt(string file)
    {
        Span<byte> magic = stackalloc byte[4];
        using var s = File.OpenRead(file);
        return s.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual((ReadOnlySpan<byte>)[0xd0, 0x0d, 0xfe, 0xed]);
    }
}
