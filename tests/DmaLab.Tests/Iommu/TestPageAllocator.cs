using DmaLab.Mm;

namespace DmaLab.Tests.Iommu;

/// <summary>A small page allocator for tests: naturally aligned blocks from one range, first fit, with accounting.</summary>
public sealed class TestPageAllocator : IPageAllocator
{
    readonly PhysAddr _base;
    readonly bool[] _used;

    public TestPageAllocator(PhysAddr @base, ulong size)
    {
        _base = @base;
        _used = new bool[size >> 12];
    }

    public long PagesInUse { get; private set; }

    public bool TryAllocPages(int order, Gfp gfp, out PhysAddr page)
    {
        int n = 1 << order;
        for (int i = 0; i + n <= _used.Length; i += n)
        {
            bool free = true;
            for (int j = 0; j < n && free; j++) free = !_used[i + j];
            if (!free) continue;
            for (int j = 0; j < n; j++) _used[i + j] = true;
            PagesInUse += n;
            page = _base + ((ulong)i << 12);
            return true;
        }
        page = default;
        return false;
    }

    public void FreePages(PhysAddr page, int order)
    {
        int i = (int)((page.Value - _base.Value) >> 12), n = 1 << order;
        for (int j = 0; j < n; j++)
        {
            if (!_used[i + j]) throw new InvalidOperationException($"double free of page {page + ((ulong)j << 12)}");
            _used[i + j] = false;
        }
        PagesInUse -= n;
    }
}
