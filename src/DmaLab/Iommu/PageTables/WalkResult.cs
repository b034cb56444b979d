namespace DmaLab.Iommu.PageTables;

/// <summary>Outcome of a hardware-style table walk over descriptors in simulated memory.</summary>
public readonly record struct WalkResult(bool Ok, ulong Phys, ulong PageSize, IommuProt Prot, int DescriptorReads, WalkFault Fault)
{
    public static WalkResult Translation(int reads) => new(false, 0, 0, IommuProt.None, reads, WalkFault.Translation);
}

public enum WalkFault
{
    None,
    /// <summary>No valid descriptor for the address.</summary>
    Translation,
    /// <summary>Address above the input size.</summary>
    AddressSize,
    /// <summary>A descriptor is malformed (reserved bits, bad type) or a table address is not DRAM.</summary>
    External,
}
