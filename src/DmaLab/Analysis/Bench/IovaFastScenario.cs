using DmaLab.Iova;

namespace DmaLab.Analysis.Bench;

/// <summary>
/// alloc_iova_fast() + free_iova_fast() of one page below 4 GiB, served by the per-CPU magazine
/// (Linux: drivers/iommu/iova.c, iova_rcache_get()/iova_rcache_insert()).
/// </summary>
internal sealed class IovaFastScenario : BenchScenario
{
    const ulong Limit32Pfn = 0xfffff;
    IovaDomain _iovad = null!;

    public override string Name => "iova-alloc-free-fast";
    public override string Description => "alloc_iova_fast+free_iova_fast, 1 page, 32-bit limit (rcache hit)";

    public override void Boot(ulong seed)
    {
        _iovad = new IovaDomain(4096, 1, cpus: 1);
        // The first allocation walks the rbtree; freeing it fills the magazine that every later op hits.
        ulong pfn = _iovad.AllocIovaFast(0, 1, Limit32Pfn, true);
        if (pfn == 0) throw new InvalidOperationException("bench IOVA domain could not allocate its first page");
        _iovad.FreeIovaFast(0, pfn, 1);
    }

    public override long Run(int ops)
    {
        long ok = 0;
        var iovad = _iovad;
        for (int i = 0; i < ops; i++)
        {
            ulong pfn = iovad.AllocIovaFast(0, 1, Limit32Pfn, true);
            if (pfn != 0) { ok++; iovad.FreeIovaFast(0, pfn, 1); }
        }
        return ok;
    }

    public override long ModelCount => _iovad.Stats.RcacheHits;
}
