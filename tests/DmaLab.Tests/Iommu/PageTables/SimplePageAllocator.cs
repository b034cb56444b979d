using DmaLab.Mm;

namespace DmaLab.Tests.Iommu.PageTables;

/// <summary>
/// A first-fit page allocator over one DRAM range for page-table tests: naturally aligned 2^order blocks,
/// double and mismatched frees throw, and an optional allocation budget lets tests provoke -ENOMEM.
/// </summary>
public sealed class SimplePageAllocator : IPageAllocator
{
    readonly ulong _base;
    readonly int[] _orderAt;   // -1 free; >=0 order of the block starting here; -2 inside a block
    long _inUse;

    public SimplePageAllocator(PhysAddr basePage, int pages)
    {
        _base = basePage.Value;
        _orderAt = new int[pages];
        Array.Fill(_orderAt, -1);
    }

    /// <summary>Allocations still allowed; negative = unlimited.</summary>
    public int Budget { get; set; } = -1;
    public long PagesInUse => _inUse;

    public bool TryAllocPages(int order, Gfp gfp, out PhysAddr page)
    {
        page = default;
        if (Budget == 0) return false;
        int n = 1 << order;
        for (int i = 0; i + n <= _orderAt.Length; i += n)
        {
            bool free = true;
            for (int j = 0; j < n && free; j++) free = _orderAt[i + j] == -1;
            if (!free) continue;
            _orderAt[i] = order;
            for (int j = 1; j < n; j++) _orderAt[i + j] = -2;
            _inUse += n;
            if (Budget > 0) Budget--;
            page = new PhysAddr(_base + ((ulong)i << PhysAddr.PageShift));
            return true;
        }
        return false;
    }

    public void FreePages(PhysAddr page, int order)
    {
        long i = (long)((page.Value - _base) >> PhysAddr.PageShift);
        if (page.Value < _base || i >= _orderAt.Length || _orderAt[i] != order)
            throw new InvalidOperationException($"bad free of {page} order {order}");
        int n = 1 << order;
        for (int j = 0; j < n; j++) _orderAt[i + j] = -1;
        _inUse -= n;
    }
}
