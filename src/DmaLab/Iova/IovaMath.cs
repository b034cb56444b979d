using System.Numerics;
using System.Runtime.CompilerServices;

namespace DmaLab.Iova;

/// <summary>The kernel's bit helpers the IOVA code relies on (Linux: include/linux/bitops.h, log2.h).</summary>
public static class IovaMath
{
    /// <summary>fls_long(x): 1-based index of the most significant set bit, 0 for 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FlsLong(ulong x) => 64 - BitOperations.LeadingZeroCount(x); // lzcnt(0) = 64

    /// <summary>__ffs(x): 0-based index of the least significant set bit (x must be nonzero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Ffs(ulong x) => BitOperations.TrailingZeroCount(x);

    /// <summary>order_base_2(n): ceil(log2(n)), with order_base_2(0) = order_base_2(1) = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int OrderBase2(ulong n) => n <= 1 ? 0 : FlsLong(n - 1);

    /// <summary>roundup_pow_of_two(n) for n &gt;= 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RoundupPowOfTwo(ulong n) => n <= 1 ? 1 : 1UL << FlsLong(n - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPowerOfTwo(ulong n) => n != 0 && (n & (n - 1)) == 0;
}
