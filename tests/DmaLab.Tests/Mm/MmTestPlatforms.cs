using DmaLab.Platform;

namespace DmaLab.Tests.Mm;

static class MmTestPlatforms
{
    public const ulong MiB = 1UL << 20, GiB = 1UL << 30;

    /// <summary>A small arm64 machine: 64 MiB of DRAM at 2 GiB, an 8 MiB default CMA.</summary>
    public static PlatformSpec SmallArm64(ulong cmaSize = 8 * MiB, int orderPerBit = 0) => new()
    {
        Name = "small-arm64",
        Arch = "arm64",
        Memory = { new MemorySpec { Base = 0x8000_0000, Size = 64 * MiB } },
        Cma = new CmaSpec { DefaultSize = cmaSize, OrderPerBit = orderPerBit },
    };

    public static PlatformSpec Arm64(params (ulong Base, ulong Size)[] dram)
    {
        var s = new PlatformSpec { Name = "arm64-test", Arch = "arm64", Cma = new CmaSpec { DefaultSize = 0 } };
        foreach (var (b, z) in dram) s.Memory.Add(new MemorySpec { Base = b, Size = z });
        return s;
    }

    public static PlatformSpec X86(params (ulong Base, ulong Size)[] dram)
    {
        var s = new PlatformSpec { Name = "x86-test", Arch = "x86_64", Cma = new CmaSpec { DefaultSize = 0 } };
        foreach (var (b, z) in dram) s.Memory.Add(new MemorySpec { Base = b, Size = z });
        return s;
    }
}
