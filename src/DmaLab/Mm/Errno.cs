namespace DmaLab.Mm;

/// <summary>Linux error numbers the memory model returns (include/uapi/asm-generic/errno-base.h), negated as the
/// kernel returns them.</summary>
public static class Errno
{
    public const int ENOMEM = -12;
    public const int EBUSY = -16;
    public const int EINVAL = -22;
}
