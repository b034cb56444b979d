using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Tests.Iommu;

/// <summary>
/// A test-only radix page table (4 KiB granule, 512 entries per level, 4K/2M/1G leaves) writing real 8-byte
/// descriptors into simulated memory, used in place of a format the io-pgtable registry does not provide yet.
/// Descriptor: bit0 valid, bit1 table (non-last level) or page (last level), bit6 read, bit7 write, address [47:12].
/// </summary>
public sealed class ReferencePgtable : IIoPgtable
{
    readonly PhysicalMemory _mem;
    readonly IPageAllocator _pages;
    readonly int _levels;
    readonly List<PhysAddr> _tables = new();

    public ReferencePgtable(IoPgtableFormat format, IoPgtableConfig cfg, PhysicalMemory mem, IPageAllocator pages)
    {
        Format = format;
        Config = cfg;
        _mem = mem;
        _pages = pages;
        cfg.PgsizeBitmap &= (1UL << 12) | (1UL << 21) | (1UL << 30);
        if (cfg.PgsizeBitmap == 0) cfg.PgsizeBitmap = 1UL << 12;
        _levels = Math.Max(1, (cfg.Ias - 12 + 8) / 9);
        Root = NewTable();
        cfg.Registers["TTBR0"] = Root.Value;
    }

    public IoPgtableFormat Format { get; }
    public IoPgtableConfig Config { get; }
    public PhysAddr Root { get; }
    public long TablePages => _tables.Count;

    PhysAddr NewTable()
    {
        if (!_pages.TryAllocPages(0, Gfp.Zero, out var p)) throw new InvalidOperationException("out of table pages");
        _mem.Fill(p, 4096, 0);
        _tables.Add(p);
        return p;
    }

    int Shift(int level) => 12 + 9 * (_levels - 1 - level);
    PhysAddr Slot(PhysAddr table, ulong iova, int level) => table + ((iova >> Shift(level)) & 511) * 8;

    public int MapPages(ulong iova, ulong paddr, ulong pgsize, ulong pgcount, IommuProt prot, out ulong mapped)
    {
        mapped = 0;
        if ((Config.PgsizeBitmap & pgsize) == 0 || iova >> Config.Ias != 0) return -22;
        for (ulong i = 0; i < pgcount; i++)
        {
            int ret = MapOne(iova + i * pgsize, paddr + i * pgsize, pgsize, prot);
            if (ret != 0) return ret;
            mapped += pgsize;
        }
        return 0;
    }

    int MapOne(ulong iova, ulong paddr, ulong pgsize, IommuProt prot)
    {
        var table = Root;
        for (int level = 0; ; level++)
        {
            var slot = Slot(table, iova, level);
            _mem.TryReadU64(slot, out ulong d);
            bool last = level == _levels - 1;
            if (1UL << Shift(level) == pgsize)
            {
                if ((d & 1) != 0) return -17;
                ulong perm = ((prot & IommuProt.Read) != 0 ? 1UL << 6 : 0) | ((prot & IommuProt.Write) != 0 ? 1UL << 7 : 0);
                _mem.TryWriteU64(slot, (paddr & 0xffff_ffff_f000UL) | perm | 1 | (last ? 2UL : 0));
                return 0;
            }
            if ((d & 1) != 0 && (d & 2) == 0) return -17; // a block is there
            if ((d & 1) == 0)
            {
                var t = NewTable();
                d = t.Value | 3;
                _mem.TryWriteU64(slot, d);
            }
            table = new PhysAddr(d & 0xffff_ffff_f000UL);
        }
    }

    public ulong UnmapPages(ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather)
    {
        ulong done = 0;
        for (ulong i = 0; i < pgcount; i++)
        {
            ulong a = iova + i * pgsize;
            var table = Root;
            bool ok = false;
            for (int level = 0; level < _levels; level++)
            {
                var slot = Slot(table, a, level);
                _mem.TryReadU64(slot, out ulong d);
                if ((d & 1) == 0) break;
                bool leaf = level == _levels - 1 || (d & 2) == 0;
                if (leaf)
                {
                    if (1UL << Shift(level) != pgsize) break; // would need a split
                    _mem.TryWriteU64(slot, 0);
                    if (!gather.Queued) Config.Tlb?.TlbAddPage(ref gather, a, pgsize);
                    ok = true;
                    break;
                }
                table = new PhysAddr(d & 0xffff_ffff_f000UL);
            }
            if (!ok) break;
            done += pgsize;
        }
        return done;
    }

    public ulong IovaToPhys(ulong iova)
    {
        var w = Walk(iova);
        return w.Ok ? w.Phys : 0;
    }

    public WalkResult Walk(ulong iova)
    {
        if (iova >> Config.Ias != 0) return new WalkResult(false, 0, 0, IommuProt.None, 0, WalkFault.AddressSize);
        var table = Root;
        for (int level = 0; level < _levels; level++)
        {
            if (!_mem.TryReadU64(Slot(table, iova, level), out ulong d)) return new WalkResult(false, 0, 0, IommuProt.None, level + 1, WalkFault.External);
            if ((d & 1) == 0) return WalkResult.Translation(level + 1);
            bool leaf = level == _levels - 1 || (d & 2) == 0;
            if (leaf)
            {
                ulong size = 1UL << Shift(level);
                var prot = ((d & (1UL << 6)) != 0 ? IommuProt.Read : 0) | ((d & (1UL << 7)) != 0 ? IommuProt.Write : 0);
                return new WalkResult(true, (d & 0xffff_ffff_f000UL & ~(size - 1)) + (iova & (size - 1)), size, prot, level + 1, WalkFault.None);
            }
            table = new PhysAddr(d & 0xffff_ffff_f000UL);
        }
        return WalkResult.Translation(_levels);
    }

    public void Free()
    {
        foreach (var t in _tables) _pages.FreePages(t, 0);
        _tables.Clear();
    }
}
