using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Mm;

namespace DmaLab.DmaIommu;

/// <summary>
/// The 32-bit ARM IOVA space of one device (Linux: arch/arm/mm/dma-mapping.c, struct dma_iommu_mapping): an
/// UNMANAGED domain plus a page-granular bitmap allocator. The window [Base, Base + size) is cut into
/// "extensions" of one bitmap page each (PAGE_SIZE bytes = 32768 bits = 128 MiB of IOVA); only the first bitmap
/// exists at creation, the next one is added when a search over all present bitmaps fails
/// (extend_iommu_mapping()). An allocation never crosses from one bitmap into the next.
/// </summary>
public sealed class ArmIommuMapping
{
    /// <summary>CONFIG_ARM_DMA_IOMMU_ALIGNMENT default (arch/arm/Kconfig): allocations align to at most 2^8 pages.</summary>
    public const int DefaultAlignmentOrder = 8;
    const int BitsPerLong = 32; // ARM32 unsigned long
    const int PageShift = PhysAddr.PageShift;
    const ulong PageSize = PhysAddr.PageSize;

    readonly ulong[][] _bitmaps;

    ArmIommuMapping(ulong @base, int bitmapBytes, int extensions, int alignOrder, IommuDomain? domain)
    {
        Base = @base;
        BitmapBytes = bitmapBytes;
        Extensions = extensions;
        Bits = 8 * bitmapBytes;
        AlignmentOrder = alignOrder;
        Domain = domain;
        _bitmaps = new ulong[extensions][];
        _bitmaps[0] = new ulong[(Bits + 63) / 64];
        NrBitmaps = 1;
    }

    /// <summary>mapping-&gt;base: the first IOVA.</summary>
    public ulong Base { get; }
    /// <summary>mapping-&gt;bits: pages per bitmap (BITS_PER_BYTE * bitmap_size, so rounded up to whole longs).</summary>
    public int Bits { get; }
    /// <summary>mapping-&gt;bitmap_size in bytes.</summary>
    public int BitmapBytes { get; }
    /// <summary>mapping-&gt;extensions: how many bitmaps the window may grow to.</summary>
    public int Extensions { get; }
    /// <summary>mapping-&gt;nr_bitmaps: how many exist now.</summary>
    public int NrBitmaps { get; private set; }
    /// <summary>CONFIG_ARM_DMA_IOMMU_ALIGNMENT in force.</summary>
    public int AlignmentOrder { get; }
    /// <summary>mapping-&gt;domain (null for an allocator-only mapping, as in tests of the bitmap rules).</summary>
    public IommuDomain? Domain { get; }
    /// <summary>Bytes of IOVA one bitmap covers.</summary>
    public ulong BitmapSpan => (ulong)Bits << PageShift;

    /// <summary>
    /// Linux: arm_iommu_create_mapping() (sizing part): bits = size &gt;&gt; PAGE_SHIFT, bitmap_size =
    /// BITS_TO_LONGS(bits) * sizeof(long); above one page the bitmap is split into bitmap_size / PAGE_SIZE
    /// extensions of one page. Returns null with <paramref name="errno"/> -ERANGE (window above 4 GiB) or -EINVAL
    /// (window under a page).
    /// </summary>
    public static ArmIommuMapping? Create(ulong @base, ulong size, IommuDomain? domain, out int errno, int alignOrder = DefaultAlignmentOrder)
    {
        errno = 0;
        if (size > (1UL << 32)) { errno = -Errno.ERANGE; return null; }
        ulong bits = size >> PageShift;
        ulong bitmapSize = (bits + BitsPerLong - 1) / BitsPerLong * (BitsPerLong / 8);
        if (bitmapSize == 0) { errno = -Errno.EINVAL; return null; }
        int extensions = 1;
        if (bitmapSize > PageSize)
        {
            extensions = (int)(bitmapSize / PageSize);
            bitmapSize = PageSize;
        }
        return new ArmIommuMapping(@base, (int)bitmapSize, extensions, alignOrder, domain);
    }

    /// <summary>get_order(): the smallest order whose 2^order pages hold <paramref name="size"/> bytes.</summary>
    public static int GetOrder(ulong size)
    {
        if (size <= PageSize) return 0;
        ulong pages = (size - 1) >> PageShift;
        return 64 - System.Numerics.BitOperations.LeadingZeroCount(pages);
    }

    /// <summary>
    /// Linux: __alloc_iova(): count = PAGE_ALIGN(size) pages aligned to 2^min(get_order(size), alignment order) pages,
    /// first fit in each present bitmap in order; when none fits, one more bitmap is added and searched.
    /// Returns the IOVA or <see cref="DmaAddr.MappingError"/>.
    /// </summary>
    public DmaAddr AllocIova(ulong size)
    {
        int order = Math.Min(GetOrder(size), AlignmentOrder);
        int count = (int)(((size + PageSize - 1) & ~(PageSize - 1)) >> PageShift);
        int alignMask = (1 << order) - 1;
        int i, start = 0;
        for (i = 0; i < NrBitmaps; i++)
        {
            start = FindNextZeroArea(_bitmaps[i], Bits, count, alignMask);
            if (start >= 0) { SetBits(_bitmaps[i], start, count); break; }
        }
        if (i == NrBitmaps)
        {
            if (!Extend()) return DmaAddr.MappingError;
            start = FindNextZeroArea(_bitmaps[i], Bits, count, alignMask);
            if (start < 0) return DmaAddr.MappingError;
            SetBits(_bitmaps[i], start, count);
        }
        return new DmaAddr(Base + BitmapSpan * (ulong)i + ((ulong)start << PageShift));
    }

    /// <summary>Linux: extend_iommu_mapping(): -EINVAL once every extension exists.</summary>
    bool Extend()
    {
        if (NrBitmaps >= Extensions) return false;
        _bitmaps[NrBitmaps] = new ulong[(Bits + 63) / 64];
        NrBitmaps++;
        return true;
    }

    /// <summary>
    /// Linux: __free_iova(): clears size &gt;&gt; PAGE_SHIFT bits in the bitmap the address falls in. A range below
    /// Base, in an extension that does not exist, or running into the next bitmap is a kernel BUG(): thrown here.
    /// </summary>
    public void FreeIova(ulong addr, ulong size)
    {
        if (size == 0) return;
        // the kernel divides as u32
        uint index = (uint)(addr - Base) / (uint)BitmapSpan;
        if (addr < Base || index >= NrBitmaps)
            throw new InvalidOperationException($"__free_iova: IOVA 0x{addr:x} is outside the mapping (base 0x{Base:x}, {NrBitmaps} bitmap(s)) — kernel BUG()");
        ulong bitmapBase = Base + BitmapSpan * index;
        if (addr + size > bitmapBase + BitmapSpan)
            throw new InvalidOperationException($"__free_iova: 0x{addr:x}+0x{size:x} runs into the next bitmap — kernel BUG()");
        int start = (int)((addr - bitmapBase) >> PageShift);
        ClearBits(_bitmaps[index], start, (int)(size >> PageShift));
    }

    /// <summary>Whether the page at <paramref name="iova"/> is allocated (for tests and reports).</summary>
    public bool IsAllocated(ulong iova)
    {
        if (iova < Base) return false;
        ulong idx = (iova - Base) / BitmapSpan;
        if (idx >= (ulong)NrBitmaps) return false;
        int bit = (int)(((iova - Base) - idx * BitmapSpan) >> PageShift);
        return (_bitmaps[idx][bit >> 6] & (1UL << (bit & 63))) != 0;
    }

    /// <summary>Pages allocated across all bitmaps.</summary>
    public long AllocatedPages
    {
        get
        {
            long n = 0;
            for (int i = 0; i < NrBitmaps; i++)
                foreach (var w in _bitmaps[i]) n += System.Numerics.BitOperations.PopCount(w);
            return n;
        }
    }

    /// <summary>Linux: lib/bitmap.c bitmap_find_next_zero_area() from 0: first clear run of <paramref name="nr"/> bits whose
    /// start is a multiple of alignMask + 1, wholly below <paramref name="size"/>; -1 when none.</summary>
    static int FindNextZeroArea(ulong[] map, int size, int nr, int alignMask)
    {
        int start = 0;
        while (true)
        {
            int index = FindNextBit(map, size, start, zero: true);
            index = (index + alignMask) & ~alignMask;
            long end = (long)index + nr;
            if (end > size) return -1;
            int set = FindNextBit(map, (int)end, index, zero: false);
            if (set < end) { start = set + 1; continue; }
            return index;
        }
    }

    static int FindNextBit(ulong[] map, int size, int from, bool zero)
    {
        int i = from;
        while (i < size)
        {
            ulong w = map[i >> 6];
            if (zero) w = ~w;
            w &= ~0UL << (i & 63);
            if (w != 0)
            {
                int bit = (i & ~63) + System.Numerics.BitOperations.TrailingZeroCount(w);
                return bit < size ? bit : size;
            }
            i = (i & ~63) + 64;
        }
        return size;
    }

    static void SetBits(ulong[] map, int start, int count)
    {
        for (int b = start; b < start + count; b++) map[b >> 6] |= 1UL << (b & 63);
    }

    static void ClearBits(ulong[] map, int start, int count)
    {
        for (int b = start; b < start + count; b++) map[b >> 6] &= ~(1UL << (b & 63));
    }
}
