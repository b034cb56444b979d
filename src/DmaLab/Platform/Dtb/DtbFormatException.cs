namespace DmaLab.Platform.Dtb;

/// <summary>
/// A flattened device tree that breaks the Devicetree Specification v0.4, chapter 5 (corrupt, truncated or
/// unsupported). <see cref="Offset"/> is the byte offset in the blob where the problem was found; the message is
/// one line, fit for the CLI to print as it is (exit 2).
/// </summary>
public sealed class DtbFormatException : Exception
{
    public DtbFormatException(long offset, string reason)
        : base($"invalid device tree blob at byte 0x{offset:x}: {reason}")
    {
        Offset = offset;
        Reason = reason;
    }

    /// <summary>Byte offset in the blob where the problem was found.</summary>
    public long Offset { get; }

    /// <summary>What was wrong, without the offset.</summary>
    public string Reason { get; }
}
