using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>One scatterlist entry (Linux: struct scatterlist): page, offset, length; and after mapping the
/// dma_address / dma_length the device uses.</summary>
public struct ScatterlistEntry
{
    /// <summary>Physical address of the page (sg_page()).</summary>
    public PhysAddr Page;
    public uint Offset;
    public uint Length;
    public DmaAddr DmaAddress;
    public uint DmaLength;
    /// <summary>sg_phys(): page + offset.</summary>
    public readonly PhysAddr Phys => Page + Offset;
}

/// <summary>
/// A scatterlist / sg_table (Linux: include/linux/scatterlist.h): a reusable array of entries, <see cref="Nents"/>
/// of them in use (orig_nents) and <see cref="MappedNents"/> after dma_map_sg() (nents). Struct storage accessed by
/// ref so mapping allocates nothing.
/// </summary>
public sealed class Scatterlist
{
    ScatterlistEntry[] _entries;

    public Scatterlist(int capacity)
    {
        if (capacity <= 0) throw new ArgumentException($"scatterlist capacity {capacity}: expected >= 1");
        _entries = new ScatterlistEntry[capacity];
    }

    /// <summary>orig_nents: entries the CPU side describes.</summary>
    public int Nents { get; private set; }
    /// <summary>nents of the sg_table: entries dma_map_sg() returned (0 when not mapped or failed).</summary>
    public int MappedNents { get; set; }
    public int Capacity => _entries.Length;

    public ref ScatterlistEntry this[int i] => ref _entries[i];

    public Span<ScatterlistEntry> Entries => _entries.AsSpan(0, Nents);

    /// <summary>sg_init_table(): <paramref name="nents"/> empty entries (grows the storage if needed).</summary>
    public void Init(int nents)
    {
        if (nents < 0) throw new ArgumentException($"nents {nents}");
        if (nents > _entries.Length) _entries = new ScatterlistEntry[nents];
        else Array.Clear(_entries, 0, nents);
        Nents = nents;
        MappedNents = 0;
    }

    /// <summary>sg_set_page(): entry <paramref name="i"/> covers [page + offset, +length).</summary>
    public void Set(int i, PhysAddr page, uint offset, uint length)
    {
        ref var e = ref _entries[i];
        e.Page = page.PageAligned;
        e.Offset = (uint)page.PageOffset + offset;
        e.Length = length;
        e.DmaAddress = default;
        e.DmaLength = 0;
    }

    /// <summary>Sets an entry from a physical address (sg_set_page(sg, phys_to_page(p), len, offset_in_page(p))).</summary>
    public void SetPhys(int i, PhysAddr phys, uint length) => Set(i, phys, 0, length);
}
