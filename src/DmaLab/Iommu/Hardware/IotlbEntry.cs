using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Hardware;

/// <summary>One cached translation: tag (ASID / domain ID / context bank) + IOVA page → physical page.</summary>
public struct IotlbEntry
{
    public ulong Iova;
    public ulong Phys;
    /// <summary>Counter value of the last use (LRU by counter, never by time).</summary>
    public ulong LastUse;
    /// <summary>The cache's <see cref="Iotlb.Generation"/> when the entry was filled or last checked against the page
    /// table: a model-only stamp (hardware has nothing like it) that tells the stale-hit check when the tables may have
    /// changed under the entry.</summary>
    public uint Generation;
    public int Tag;
    public IommuProt Prot;
    public byte PageShift;
    public bool Valid;
}
