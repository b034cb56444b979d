namespace DmaLab.Mm;

/// <summary>The allocation bitmap of a CMA area (Linux: lib/bitmap.c, bitmap_find_next_zero_area_off(),
/// bitmap_set(), bitmap_clear()).</summary>
public sealed class CmaBitmap
{
    readonly ulong[] _words;

    public CmaBitmap(long bits)
    {
        Bits = bits;
        _words = new ulong[(bits + 63) / 64];
    }

    public long Bits { get; }

    public bool Test(long i) => (_words[i >> 6] >> (int)(i & 63) & 1) != 0;

    public void Set(long start, long count)
    {
        for (long i = start; i < start + count; i++) _words[i >> 6] |= 1UL << (int)(i & 63);
    }

    public void Clear(long start, long count)
    {
        for (long i = start; i < start + count; i++) _words[i >> 6] &= ~(1UL << (int)(i & 63));
    }

    public long CountSet()
    {
        long n = 0;
        foreach (var w in _words) n += System.Numerics.BitOperations.PopCount(w);
        return n;
    }

    /// <summary>find_next_zero_bit(): first clear bit at or after start below size, else size.</summary>
    public long FindNextZero(long size, long start)
    {
        for (long i = start; i < size;)
        {
            ulong w = ~_words[i >> 6] >> (int)(i & 63);
            if (w != 0) return Math.Min(size, i + System.Numerics.BitOperations.TrailingZeroCount(w));
            i = (i | 63) + 1;
        }
        return size;
    }

    /// <summary>find_next_bit(): first set bit at or after start below size, else size.</summary>
    public long FindNextSet(long size, long start)
    {
        for (long i = start; i < size;)
        {
            ulong w = _words[i >> 6] >> (int)(i & 63);
            if (w != 0) return Math.Min(size, i + System.Numerics.BitOperations.TrailingZeroCount(w));
            i = (i | 63) + 1;
        }
        return size;
    }

    /// <summary>
    /// bitmap_find_next_zero_area_off(): the first index ≥ start of nr clear bits whose (index + alignOffset) is a
    /// multiple of alignMask + 1. A result past size - nr means no such area (the kernel returns end &gt; size).
    /// </summary>
    public long FindNextZeroAreaOff(long size, long start, long nr, long alignMask, long alignOffset)
    {
        while (true)
        {
            long index = FindNextZero(size, start);
            index = ((index + alignOffset + alignMask) & ~alignMask) - alignOffset;
            long end = index + nr;
            if (end > size) return end;
            long i = FindNextSet(end, index);
            if (i < end) { start = i + 1; continue; }
            return index;
        }
    }
}
