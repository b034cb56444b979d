namespace DmaLab.Iommu.Hardware;

/// <summary>Victim choice when a set is full.</summary>
public enum IotlbReplacement
{
    /// <summary>Least recently used, by a use counter.</summary>
    Lru,
    /// <summary>Random way from a seeded generator (what many SMMU implementations document as pseudo-random).</summary>
    Random,
}
