using DmaLab.Platform.Dtb;

namespace DmaLab.Platform;

/// <summary>
/// Makes an imported device tree runnable: the tree may leave DRAM to the bootloader (a /memory reg of size 0),
/// so a platform with no DRAM gets a stated default covering its reserved regions, then the result is validated.
/// </summary>
public static class DtbPlatform
{
    /// <summary>DRAM assumed when the tree gives none: up to 4 GiB, placed to cover the reserved regions the tree
    /// declares; when it starts below 4 GiB it stops there (the SoCs that leave DRAM to the bootloader put their first
    /// bank below 4 GiB, and 32-bit IOMMU walkers and masters must be able to reach it).</summary>
    public const ulong DefaultDramSize = 4UL << 30;

    public static PlatformSpec Load(Stream stream, string source) => Runnable(DtbImporter.Import(stream, source), source);

    /// <summary>The platform of an import, made runnable and validated (what `platform import --save` writes, so the
    /// saved file loads back and runs as the tree itself does).</summary>
    public static PlatformSpec Runnable(DtbImport import, string source)
    {
        var spec = import.Platform;
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
        const ulong FourGiB = 4UL << 30;
        ulong wanted = lo < FourGiB ? FourGiB - lo : DefaultDramSize;
        ulong size = Math.Max(wanted, (hi - lo + GiB - 1) / GiB * GiB);
        if (lo + size > 1UL << 40) size = (1UL << 40) - lo;
        spec.Memory.Add(new MemorySpec { Base = lo, Size = size });
        spec.Notes.Add($"the tree leaves DRAM to the bootloader; DmaLab assumes {size >> 30} GiB at 0x{lo:x}");
    }
}
