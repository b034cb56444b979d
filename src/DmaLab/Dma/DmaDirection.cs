namespace DmaLab.Dma;

/// <summary>
/// Linux: include/linux/dma-direction.h, enum dma_data_direction. The numeric values are the kernel's (trace
/// events print them through __print_symbolic with these numbers).
/// </summary>
public enum DmaDirection
{
    Bidirectional = 0,
    ToDevice = 1,
    FromDevice = 2,
    None = 3,
}

/// <summary>Kernel spellings of <see cref="DmaDirection"/> as trace events print them ("BIDIRECTIONAL", "TO_DEVICE", ...).</summary>
public static class DmaDirectionNames
{
    public static string ToKernelString(this DmaDirection dir) => dir switch
    {
        DmaDirection.Bidirectional => "BIDIRECTIONAL",
        DmaDirection.ToDevice => "TO_DEVICE",
        DmaDirection.FromDevice => "FROM_DEVICE",
        DmaDirection.None => "NONE",
        _ => throw new ArgumentOutOfRangeException(nameof(dir), dir, "not a dma_data_direction"),
    };

    /// <summary>Parses the trace spelling; false when <paramref name="s"/> is not one of the four names.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, out DmaDirection dir)
    {
        switch (s)
        {
            case "BIDIRECTIONAL": dir = DmaDirection.Bidirectional; return true;
            case "TO_DEVICE": dir = DmaDirection.ToDevice; return true;
            case "FROM_DEVICE": dir = DmaDirection.FromDevice; return true;
            case "NONE": dir = DmaDirection.None; return true;
            default: dir = DmaDirection.None; return false;
        }
    }
}
