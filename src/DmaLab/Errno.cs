namespace DmaLab;

/// <summary>Linux errno values (positive, as the constants are; the model returns them negated as the kernel does) (Linux: include/uapi/asm-generic/errno-base.h, errno.h).</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EIO = 5;
    public const int ENOMEM = 12;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int ERANGE = 34;
    public const int ENOSYS = 38;
    public const int EOPNOTSUPP = 95;
    public const int EADDRINUSE = 98;

    /// <summary>The kernel's symbolic name of a (negative or positive) errno, for messages.</summary>
    public static string Name(int err) => Math.Abs((long)err) switch
    {
        0 => "0", EPERM => "EPERM", ENOENT => "ENOENT", EIO => "EIO", ENOMEM => "ENOMEM", EBUSY => "EBUSY",
        EEXIST => "EEXIST", ENODEV => "ENODEV", EINVAL => "EINVAL", ENOSPC => "ENOSPC", ERANGE => "ERANGE",
        ENOSYS => "ENOSYS", EOPNOTSUPP => "EOPNOTSUPP", EADDRINUSE => "EADDRINUSE", _ => $"E{Math.Abs((long)err)}",
    };
}
