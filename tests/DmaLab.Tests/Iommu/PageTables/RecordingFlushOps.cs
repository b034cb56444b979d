using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu.PageTables;

/// <summary>Flush callbacks that record what a format asked for (the driver side of struct iommu_flush_ops).</summary>
public sealed class RecordingFlushOps : IIommuFlushOps
{
    public int FlushAll, FlushWalk, AddPage;
    public readonly List<(ulong Iova, ulong Size, ulong Granule)> Walks = new();
    public readonly List<(ulong Iova, ulong Granule)> Pages = new();

    public void TlbFlushAll() => FlushAll++;

    public void TlbFlushWalk(ulong iova, ulong size, ulong granule)
    {
        FlushWalk++;
        Walks.Add((iova, size, granule));
    }

    public void TlbAddPage(ref IommuIotlbGather gather, ulong iova, ulong granule)
    {
        AddPage++;
        Pages.Add((iova, granule));
        gather.AddRange(iova, granule);
    }
}
