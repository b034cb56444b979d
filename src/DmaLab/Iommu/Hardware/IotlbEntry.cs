using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu.Hardware;

/// <summary>One cached translation: tag (ASID / domain ID / context bank) + IOVA page → physical page.</summary>
public struct IotlbEntry
{
    public ulong Iova;
    public ulong Phys;
    /// <summary>Counter value of the last use (LRU by counter, never by time).</summary>
    public ulong LastUse;
    public int Tag;
    public IommuProt Prot;
    public byte PageShift;
    public bool Valid;
}
