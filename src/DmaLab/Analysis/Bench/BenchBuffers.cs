using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Analysis.Bench;

/// <summary>The buffer a bench thread maps: one order-0 page, its place chosen by the thread's seed.</summary>
internal static class BenchBuffers
{
    /// <summary>Allocates 1..16 pages (seeded) and keeps the last, so threads with different seeds map different pages.</summary>
    public static PhysAddr Page(IPageAllocator pages, ulong seed)
    {
        int n = 1 + (int)Rng.For(seed, "bench-buffer").Next(16UL);
        PhysAddr page = default;
        for (int i = 0; i < n; i++)
            if (!pages.TryAllocPages(0, Gfp.Kernel, out page))
                throw new InvalidOperationException("bench platform has no free page for the buffer");
        return page;
    }
}
