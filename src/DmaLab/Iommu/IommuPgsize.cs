using System.Numerics;
using System.Runtime.CompilerServices;

namespace DmaLab.Iommu;

/// <summary>Page-size selection for map/unmap (Linux: drivers/iommu/iommu.c, iommu_pgsize()).</summary>
public static class IommuPgsize
{
    /// <summary>
    /// Picks the largest page size in <paramref name="pgsizeBitmap"/> that fits both the common alignment of
    /// iova|paddr and <paramref name="size"/>; <paramref name="count"/> is how many pages of it to map in one call:
    /// the whole remaining size, unless a larger supported page becomes usable further on (iova and paddr share the
    /// same offset within it and the size reaches past the next boundary), then only up to that boundary.
    /// Returns 0 when no size fits (the kernel BUG()s; callers check alignment first so this means a DmaLab bug).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Select(ulong pgsizeBitmap, ulong iova, ulong paddr, ulong size, out ulong count)
    {
        ulong addrMerge = iova | paddr;
        // sizes no larger than size: GENMASK(__fls(size), 0)
        int fls = 63 - BitOperations.LeadingZeroCount(size);
        ulong pgsizes = pgsizeBitmap & (fls == 63 ? ulong.MaxValue : (2UL << fls) - 1);
        if (addrMerge != 0)
        {
            int ffs = BitOperations.TrailingZeroCount(addrMerge);
            pgsizes &= ffs == 63 ? ulong.MaxValue : (2UL << ffs) - 1;
        }
        if (pgsizes == 0) { count = 0; return 0; }
        int idx = 63 - BitOperations.LeadingZeroCount(pgsizes);
        ulong pgsize = 1UL << idx;

        ulong bigger = idx == 63 ? 0 : pgsizeBitmap & ~((2UL << idx) - 1);
        if (bigger != 0)
        {
            ulong next = 1UL << BitOperations.TrailingZeroCount(bigger);
            // only worth stopping early if iova and paddr are equally offset within the bigger page
            if (((iova ^ paddr) & (next - 1)) == 0)
            {
                ulong offset = next - (addrMerge & (next - 1));
                if (offset + next <= size) size = offset;
            }
        }
        count = size >> idx;
        return pgsize;
    }

    /// <summary>Smallest page size of the bitmap (Linux: 1UL &lt;&lt; __ffs(domain->pgsize_bitmap)).</summary>
    public static ulong MinPageSize(ulong pgsizeBitmap) => pgsizeBitmap == 0 ? 0 : 1UL << BitOperations.TrailingZeroCount(pgsizeBitmap);
}
