namespace DmaLab.Iommu.Drivers;

/// <summary>A lowest-free ID allocator over [first, limit) (Linux: find_next_zero_bit()/ida_alloc_range() as the drivers use them).</summary>
public sealed class IdBitmap
{
    readonly bool[] _used;
    readonly int _first;

    public IdBitmap(int first, int limit)
    {
        if (limit <= first) throw new ArgumentException($"ID range [{first}, {limit}) is empty");
        _first = first;
        _used = new bool[limit];
    }

    public int Limit => _used.Length;
    public int InUse { get; private set; }

    /// <summary>The lowest free ID, or -ENOSPC.</summary>
    public int Alloc()
    {
        for (int i = _first; i < _used.Length; i++)
            if (!_used[i]) { _used[i] = true; InUse++; return i; }
        return -Errno.ENOSPC;
    }

    public void Free(int id)
    {
        if (id < _first || id >= _used.Length || !_used[id]) throw new InvalidOperationException($"freeing ID {id} that is not allocated");
        _used[id] = false;
        InUse--;
    }
}
