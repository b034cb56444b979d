using DmaLab.Platform.Dtb;

namespace DmaLab.Platform;

/// <summary>
/// Makes an imported device tree runnable: the tree may leave DRAM to the bootloader (a /memory reg of size 0),
/// so a platform with no DRAM gets a stated default covering its reserved regions, then the result is validated.
/// </summary>
public static class DtbPlatform
{
    /// <summary>DRAM assumed when the tree gives none: 4 GiB, placed to cover the reserved regions the tree declares.</summary>
    public const ulong DefaultDramSize = 4UL << 30;

    public static PlatformSpec Load(Stream stream, string source)
    {
        var spec = DtbImporter.Import(stream, source).Platform;
        spec.Source = source;
        if (string.IsNullOrEmpty(spec.Name)) spec.Name = Path.GetFileNameWithoutExtension(source);
        if (spec.Memory.Count == 0) AddDefaultDram(spec);
        PlatformValidator.Validate(spec, (path, message) => throw new PlatformSpecException($"{source}: {path}: {message}"));
        return spec;
    }

    static void AddDefaultDram(PlatformSpec spec)
    {
        const ulong GiB = 1UL << 30;
        var statics = spec.ReservedMemory.Where(r => r.Base is not null).ToList();
        ulong lo = statics.Count == 0 ? (spec.Arch == "x86_64" ? 0 : 0x8000_0000UL) : statics.Min(r => r.Base!.Value) / GiB * GiB;
        ulong hi = statics.Count == 0 ? lo : statics.Max(r => r.Base!.Value + r.Size);
        ulong size = Math.Max(DefaultDramSize, (hi - lo + GiB - 1) / GiB * GiB);
        if (lo + size > 1UL << 40) size = (1UL << 40) - lo;
        spec.Memory.Add(new MemorySpec { Base = lo, Size = size });
        spec.Notes.Add($"the tree leaves DRAM to the bootloader; DmaLab assumes {size >> 30} GiB at 0x{lo:x}");
    }
}
