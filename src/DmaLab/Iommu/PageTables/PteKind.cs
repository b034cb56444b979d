namespace DmaLab.Iommu.PageTables;

/// <summary>What a descriptor is, as the walker of its format reads it.</summary>
public enum PteKind : byte
{
    /// <summary>Not valid: translation fault for the walker, free slot for map.</summary>
    Invalid,
    /// <summary>Points to a next-level table.</summary>
    Table,
    /// <summary>Maps a page or block.</summary>
    Leaf,
    /// <summary>Reserved encoding: the walker reports an external/malformed-descriptor fault.</summary>
    Malformed,
}
