namespace DmaLab.Iommu.Hardware;

/// <summary>Size and organisation of an IOTLB; each driver states its default and where the figure comes from.</summary>
public readonly record struct IotlbGeometry(int Entries, int Ways, IotlbReplacement Replacement, int WalkCacheEntries, string Source)
{
    public int Sets => Entries / Ways;

    public void Validate(string owner)
    {
        if (Entries <= 0 || Ways <= 0 || Entries % Ways != 0 || !int.IsPow2(Entries / Ways))
            throw new ArgumentException($"{owner}: IOTLB of {Entries} entries and {Ways} ways: expected entries = ways × a power-of-two number of sets");
        if (WalkCacheEntries < 0) throw new ArgumentException($"{owner}: negative walk cache size");
    }
}
