using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>
/// A DMA pool of small coherent blocks (Linux: mm/dmapool.c, 6.4+ layout): blocks of <see cref="BlockSize"/>
/// bytes (at least 16, rounded up to the alignment) carved from dma_alloc_coherent() chunks of
/// max(size, PAGE_SIZE) bytes, never crossing a <see cref="Boundary"/>; free blocks on one LIFO list (a new
/// chunk's blocks in address order in front). Misuse (freeing a foreign block, destroying a busy pool) is a finding.
/// </summary>
public sealed class DmaPool
{
    readonly DmaMapping _api;
    readonly Device _dev;
    readonly List<(CpuAddr Vaddr, DmaAddr Dma)> _chunks = new();
    readonly Stack<(CpuAddr Vaddr, DmaAddr Dma)> _free = new();
    readonly HashSet<ulong> _active = new();
    readonly List<Finding> _findings = new();

    DmaPool(DmaMapping api, string name, Device dev, ulong size, ulong align, ulong boundary, ulong allocation)
    {
        _api = api; Name = name; _dev = dev; BlockSize = size; Align = align; Boundary = boundary; Allocation = allocation;
    }

    public string Name { get; }
    public ulong BlockSize { get; }
    public ulong Align { get; }
    public ulong Boundary { get; }
    /// <summary>Bytes of each coherent chunk.</summary>
    public ulong Allocation { get; }
    public int Chunks => _chunks.Count;
    public int ActiveBlocks => _active.Count;
    public long TotalBlocks { get; private set; }
    public IReadOnlyList<Finding> Findings => _findings;

    /// <summary>dma_pool_create(): null for a bad size, alignment or boundary, as the kernel returns NULL.</summary>
    public static DmaPool? Create(DmaMapping api, string name, Device dev, ulong size, ulong align, ulong boundary)
    {
        if (dev is null) return null;
        if (align == 0) align = 1;
        else if ((align & (align - 1)) != 0) return null;
        if (size == 0 || size > int.MaxValue) return null;
        if (size < 16) size = 16;                                  // sizeof(struct dma_block)
        size = (size + align - 1) & ~(align - 1);
        ulong allocation = Math.Max(size, PhysAddr.PageSize);
        if (boundary == 0) boundary = allocation;
        else if (boundary < size || (boundary & (boundary - 1)) != 0) return null;
        boundary = Math.Min(boundary, allocation);
        return new DmaPool(api, name, dev, size, align, boundary, allocation);
    }

    /// <summary>dma_pool_alloc(): the first free block, or a new chunk; NULL when the coherent allocation fails.</summary>
    public CpuAddr Alloc(int cpu, Gfp gfp, out DmaAddr handle)
    {
        if (_free.Count == 0 && !AddChunk(cpu, gfp & ~Gfp.Zero)) { handle = DmaAddr.MappingError; return CpuAddr.Null; }
        var (v, d) = _free.Pop();
        _active.Add(v.Value);
        handle = d;
        if ((gfp & Gfp.Zero) != 0)
        {
            Span<byte> z = stackalloc byte[(int)Math.Min(BlockSize, 4096)];
            for (ulong o = 0; o < BlockSize; o += (ulong)z.Length)
                _api.CpuWrite(_dev, v + o, z[..(int)Math.Min((ulong)z.Length, BlockSize - o)]);
        }
        return v;
    }

    /// <summary>pool_initialise_page(): blocks in address order, skipping to the next boundary when one would cross it.</summary>
    bool AddChunk(int cpu, Gfp gfp)
    {
        var vaddr = _api.AllocCoherent(cpu, _dev, Allocation, out var dma, gfp);
        if (vaddr.IsNull) return false;
        _chunks.Add((vaddr, dma));
        var blocks = new List<ulong>();
        ulong offset = 0, next = Boundary;
        while (offset + BlockSize <= Allocation)
        {
            if (offset + BlockSize > next) { offset = next; next += Boundary; continue; }
            blocks.Add(offset);
            offset += BlockSize;
        }
        TotalBlocks += blocks.Count;
        for (int i = blocks.Count - 1; i >= 0; i--) _free.Push((vaddr + blocks[i], dma + blocks[i]));
        return true;
    }

    /// <summary>dma_pool_free(): a block this pool did not hand out is reported (DMAPOOL_DEBUG's "bad vaddr").</summary>
    public void Free(CpuAddr vaddr, DmaAddr dma)
    {
        if (!_active.Remove(vaddr.Value))
        {
            _findings.Add(new Finding("dma-pool-bad-free", _dev.Name, dma.Value,
                $"{_dev.Name}: dma_pool_free {Name}, {vaddr}/0x{dma.Value:x} (bad vaddr)"));
            return;
        }
        _free.Push((vaddr, dma));
    }

    /// <summary>dma_pool_destroy(): a busy pool is reported and its chunks leaked, as the kernel does.</summary>
    public void Destroy(int cpu)
    {
        bool busy = _active.Count > 0;
        if (busy) _findings.Add(new Finding("dma-pool-busy", _dev.Name, 0, $"{_dev.Name}: dma_pool_destroy {Name} busy"));
        if (!busy) foreach (var (v, d) in _chunks) _api.FreeCoherent(cpu, _dev, Allocation, v, d);
        _chunks.Clear();
        _free.Clear();
    }
}
