using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DmaLab.Mm;

/// <summary>
/// Sparse simulated DRAM holding real bytes. The platform declares the DRAM ranges; everything else in the
/// (up to 1 TiB) physical address space is a hole. A 4 KiB page costs host memory only once it is written;
/// unwritten DRAM reads as zero. Accesses outside DRAM return <see cref="MemAccess.BusError"/>.
/// Like the rest of a simulated machine, an instance is driven from one thread at a time.
/// </summary>
public sealed class PhysicalMemory
{
    /// <summary>40 bits of physical address space (1 TiB), enough for every platform we model.</summary>
    public const int MaxPhysBits = 40;
    const int PageShift = PhysAddr.PageShift;
    const int PageSize = 1 << PageShift;
    const int ChunkShift = 14;                       // pages per directory chunk: 2^14 = 64 MiB
    const int ChunkPages = 1 << ChunkShift;

    readonly MemRange[] _ranges;
    readonly byte[]?[]?[] _dir;
    long _populatedPages;
    /// <summary>Index of the DRAM range that satisfied the last <see cref="IsDram"/>: accesses cluster (page tables,
    /// queues, bounce buffers), so the range loop is skipped almost always. An int so concurrent readers never tear it.</summary>
    int _hotRange;
    /// <summary>Direct-mapped cache of populated pages for the word accessors, indexed by pfn: descriptor walks touch
    /// a handful of table pages over and over, and a hit skips the range check and the two-level directory. An
    /// entry is dropped when <see cref="Discard"/> releases its page (the only way a page array is replaced).</summary>
    readonly WordPage[] _wordPages = new WordPage[WordCacheSize];
    const int WordCacheSize = 64;

    struct WordPage
    {
        public ulong PfnPlusOne;     // 0 = empty (pfn 0 is a valid page)
        public byte[]? Page;
    }

    public PhysicalMemory(IEnumerable<MemRange> dram)
    {
        _ranges = dram.OrderBy(r => r.Base.Value).ToArray();
        for (int i = 0; i < _ranges.Length; i++)
        {
            var r = _ranges[i];
            if (r.Size == 0 || (r.Base.Value | r.Size) % PhysAddr.PageSize != 0)
                throw new ArgumentException($"DRAM range {r} is empty or not page aligned");
            if (r.End.Value > 1UL << MaxPhysBits)
                throw new ArgumentException($"DRAM range {r} ends above the {MaxPhysBits}-bit physical address space");
            if (i > 0 && _ranges[i - 1].Overlaps(r))
                throw new ArgumentException($"DRAM ranges {_ranges[i - 1]} and {r} overlap");
        }
        _dir = new byte[]?[]?[1 << (MaxPhysBits - PageShift - ChunkShift)];
    }

    public IReadOnlyList<MemRange> Ranges => _ranges;
    public ulong TotalBytes => _ranges.Aggregate(0UL, (s, r) => s + r.Size);
    /// <summary>Pages that hold host memory because they were written.</summary>
    public long PopulatedPages => _populatedPages;
    /// <summary>Highest DRAM address + 1.</summary>
    public PhysAddr End => _ranges.Length == 0 ? default : _ranges[^1].End;

    /// <summary>True when [addr, addr+len) lies entirely inside one DRAM range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsDram(PhysAddr addr, ulong len = 1)
    {
        var ranges = _ranges;
        int hot = _hotRange;
        if ((uint)hot < (uint)ranges.Length && ranges[hot].Contains(addr, len)) return true;
        return IsDramSlow(addr, len);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    bool IsDramSlow(PhysAddr addr, ulong len)
    {
        var ranges = _ranges;
        for (int i = 0; i < ranges.Length; i++)
        {
            if (!ranges[i].Contains(addr, len)) continue;
            _hotRange = i;
            return true;
        }
        return false;
    }

    public MemAccess Read(PhysAddr addr, Span<byte> dst)
    {
        if (!IsDram(addr, (ulong)dst.Length)) return MemAccess.BusError;
        ulong a = addr.Value;
        while (!dst.IsEmpty)
        {
            int off = (int)(a & (PageSize - 1));
            int n = Math.Min(PageSize - off, dst.Length);
            var page = PageOrNull(a >> PageShift);
            if (page is null) dst[..n].Clear();
            else page.AsSpan(off, n).CopyTo(dst);
            dst = dst[n..];
            a += (ulong)n;
        }
        return MemAccess.Ok;
    }

    public MemAccess Write(PhysAddr addr, ReadOnlySpan<byte> src)
    {
        if (!IsDram(addr, (ulong)src.Length)) return MemAccess.BusError;
        ulong a = addr.Value;
        while (!src.IsEmpty)
        {
            int off = (int)(a & (PageSize - 1));
            int n = Math.Min(PageSize - off, src.Length);
            src[..n].CopyTo(Page(a >> PageShift).AsSpan(off, n));
            src = src[n..];
            a += (ulong)n;
        }
        return MemAccess.Ok;
    }

    public MemAccess Fill(PhysAddr addr, ulong len, byte value)
    {
        if (!IsDram(addr, len)) return MemAccess.BusError;
        ulong a = addr.Value, end = addr.Value + len;
        while (a < end)
        {
            int off = (int)(a & (PageSize - 1));
            int n = (int)Math.Min((ulong)(PageSize - off), end - a);
            if (value == 0 && PageOrNull(a >> PageShift) is null) { a += (ulong)n; continue; }
            Page(a >> PageShift).AsSpan(off, n).Fill(value);
            a += (ulong)n;
        }
        return MemAccess.Ok;
    }

    /// <summary>memmove between two physical ranges (the ranges may overlap).</summary>
    public MemAccess Copy(PhysAddr dst, PhysAddr src, ulong len)
    {
        if (!IsDram(src, len) || !IsDram(dst, len)) return MemAccess.BusError;
        if (len == 0 || dst == src) return MemAccess.Ok;
        if (src.Value >= dst.Value + len || dst.Value >= src.Value + len)
        {
            CopyPieces(dst.Value, src.Value, len);
            return MemAccess.Ok;
        }
        Span<byte> bounce = stackalloc byte[PageSize];
        bool backwards = dst > src && dst.Value < src.Value + len;
        ulong done = 0;
        while (done < len)
        {
            int n = (int)Math.Min((ulong)PageSize, len - done);
            ulong o = backwards ? len - done - (ulong)n : done;
            Read(src + o, bounce[..n]);
            Write(dst + o, bounce[..n]);
            done += (ulong)n;
        }
        return MemAccess.Ok;
    }

    /// <summary>Non-overlapping copy with the effect of a <see cref="Read"/> then <see cref="Write"/>: the destination
    /// is populated even when the source page was never written (it receives zeros).</summary>
    void CopyPieces(ulong d, ulong s, ulong len)
    {
        ulong end = s + len;
        while (s < end)
        {
            int so = (int)(s & (PageSize - 1)), dof = (int)(d & (PageSize - 1));
            int n = (int)Math.Min((ulong)(PageSize - Math.Max(so, dof)), end - s);
            var sp = PageOrNull(s >> PageShift);
            var dp = Page(d >> PageShift).AsSpan(dof, n);
            if (sp is not null) sp.AsSpan(so, n).CopyTo(dp);
            else dp.Clear();
            s += (ulong)n;
            d += (ulong)n;
        }
    }

    /// <summary>
    /// memcpy between two physical ranges, page piece to page piece without an intermediate buffer (the bounce
    /// copies of swiotlb are on the map/unmap hot path). Overlapping ranges fall back to <see cref="Copy"/>.
    /// An unwritten source page reads as zero, so copying it into an unwritten destination costs nothing.
    /// </summary>
    public MemAccess CopyDirect(PhysAddr dst, PhysAddr src, ulong len)
    {
        if (!IsDram(src, len) || !IsDram(dst, len)) return MemAccess.BusError;
        if (src.Value < dst.Value + len && dst.Value < src.Value + len) return Copy(dst, src, len);
        ulong s = src.Value, d = dst.Value, end = s + len;
        while (s < end)
        {
            int so = (int)(s & (PageSize - 1)), dof = (int)(d & (PageSize - 1));
            int n = (int)Math.Min((ulong)(PageSize - Math.Max(so, dof)), end - s);
            var sp = PageOrNull(s >> PageShift);
            if (sp is not null) sp.AsSpan(so, n).CopyTo(Page(d >> PageShift).AsSpan(dof, n));
            else PageOrNull(d >> PageShift)?.AsSpan(dof, n).Clear();
            s += (ulong)n;
            d += (ulong)n;
        }
        return MemAccess.Ok;
    }

    /// <summary>Reads a little-endian 64-bit word (page-table descriptors). Returns false on bus error.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadU64(PhysAddr addr, out ulong value)
    {
        ulong a = addr.Value;
        ref var hit = ref CachedPage(a >> PageShift);
        if (hit.PfnPlusOne == (a >> PageShift) + 1 && (a & 7) == 0) { value = LoadU64(hit.Page!, a); return true; }
        return TryReadU64Slow(addr, out value);
    }

    bool TryReadU64Slow(PhysAddr addr, out ulong value)
    {
        if ((addr.Value & 7) != 0 || !IsDram(addr, 8)) { value = 0; return false; }
        var page = CachePage(addr.Value >> PageShift, PageOrNull(addr.Value >> PageShift));
        value = page is null ? 0 : LoadU64(page, addr.Value);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryWriteU64(PhysAddr addr, ulong value)
    {
        ulong a = addr.Value;
        ref var hit = ref CachedPage(a >> PageShift);
        if (hit.PfnPlusOne == (a >> PageShift) + 1 && (a & 7) == 0) { StoreU64(hit.Page!, a, value); return true; }
        return TryWriteU64Slow(addr, value);
    }

    bool TryWriteU64Slow(PhysAddr addr, ulong value)
    {
        if ((addr.Value & 7) != 0 || !IsDram(addr, 8)) return false;
        StoreU64(CachePage(addr.Value >> PageShift, Page(addr.Value >> PageShift))!, addr.Value, value);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadU32(PhysAddr addr, out uint value)
    {
        ulong a = addr.Value;
        ref var hit = ref CachedPage(a >> PageShift);
        if (hit.PfnPlusOne == (a >> PageShift) + 1 && (a & 3) == 0) { value = LoadU32(hit.Page!, a); return true; }
        return TryReadU32Slow(addr, out value);
    }

    bool TryReadU32Slow(PhysAddr addr, out uint value)
    {
        if ((addr.Value & 3) != 0 || !IsDram(addr, 4)) { value = 0; return false; }
        var page = CachePage(addr.Value >> PageShift, PageOrNull(addr.Value >> PageShift));
        value = page is null ? 0 : LoadU32(page, addr.Value);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryWriteU32(PhysAddr addr, uint value)
    {
        ulong a = addr.Value;
        ref var hit = ref CachedPage(a >> PageShift);
        if (hit.PfnPlusOne == (a >> PageShift) + 1 && (a & 3) == 0) { StoreU32(hit.Page!, a, value); return true; }
        return TryWriteU32Slow(addr, value);
    }

    bool TryWriteU32Slow(PhysAddr addr, uint value)
    {
        if ((addr.Value & 3) != 0 || !IsDram(addr, 4)) return false;
        StoreU32(CachePage(addr.Value >> PageShift, Page(addr.Value >> PageShift))!, addr.Value, value);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    ref WordPage CachedPage(ulong pfn)
        => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_wordPages), (nint)(pfn & (WordCacheSize - 1)));

    /// <summary>Remembers a populated DRAM page for the word accessors (unwritten pages stay out: they read as zero).</summary>
    byte[]? CachePage(ulong pfn, byte[]? page)
    {
        if (page is not null)
        {
            ref var e = ref CachedPage(pfn);
            e.Page = page;
            e.PfnPlusOne = pfn + 1;
        }
        return page;
    }

    // Word accessors for naturally aligned words: the callers have checked alignment, so the word lies inside the
    // 4 KiB page array and needs no span or bounds check (the span path cost a third of a descriptor access).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ref byte WordRef(byte[] page, ulong addr)
    {
        Debug.Assert(page.Length == PageSize);
        return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(page), (nint)(addr & (PageSize - 1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong LoadU64(byte[] page, ulong addr)
    {
        ulong v = Unsafe.As<byte, ulong>(ref WordRef(page, addr));
        return BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint LoadU32(byte[] page, ulong addr)
    {
        uint v = Unsafe.As<byte, uint>(ref WordRef(page, addr));
        return BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreU64(byte[] page, ulong addr, ulong value)
        => Unsafe.As<byte, ulong>(ref WordRef(page, addr)) = BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreU32(byte[] page, ulong addr, uint value)
        => Unsafe.As<byte, uint>(ref WordRef(page, addr)) = BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);

    /// <summary>Releases the host memory of whole pages in the range (they read as zero again), e.g. on free.</summary>
    public void Discard(PhysAddr addr, ulong len)
    {
        ulong first = (addr.Value + PhysAddr.PageSize - 1) >> PageShift, end = (addr.Value + len) >> PageShift;
        for (ulong pfn = first; pfn < end; pfn++)
        {
            var chunk = _dir[pfn >> ChunkShift];
            if (chunk is null) continue;
            ref var slot = ref chunk[pfn & (ChunkPages - 1)];
            if (slot is null) continue;
            slot = null;
            ref var cached = ref CachedPage(pfn);
            if (cached.PfnPlusOne == pfn + 1) cached = default;
            _populatedPages--;
        }
    }

    // Only called for DRAM pfns (below 2^(MaxPhysBits-PageShift), checked by the constructor), so the directory
    // index is in range and the chunk index is masked to the chunk's length: no bounds checks needed.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    byte[]? PageOrNull(ulong pfn)
    {
        Debug.Assert(pfn >> ChunkShift < (ulong)_dir.Length);
        var chunk = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_dir), (nint)(pfn >> ChunkShift));
        return chunk is null ? null : Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(chunk), (nint)(pfn & (ChunkPages - 1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    byte[] Page(ulong pfn) => PageOrNull(pfn) ?? Populate(pfn);

    [MethodImpl(MethodImplOptions.NoInlining)]
    byte[] Populate(ulong pfn)
    {
        ref var chunk = ref _dir[pfn >> ChunkShift];
        chunk ??= new byte[]?[ChunkPages];
        _populatedPages++;
        return chunk[pfn & (ChunkPages - 1)] = new byte[PageSize];
    }
}

