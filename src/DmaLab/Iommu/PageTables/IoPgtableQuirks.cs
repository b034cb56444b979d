namespace DmaLab.Iommu.PageTables;

/// <summary>Format quirks a driver asks for (Linux: IO_PGTABLE_QUIRK_*, plus VT-d's force-snoop domain flag).</summary>
[Flags]
public enum IoPgtableQuirks
{
    None = 0,
    /// <summary>IO_PGTABLE_QUIRK_ARM_NS: set the NS bits in descriptors (secure-world tables).</summary>
    ArmNs = 1 << 0,
    /// <summary>IO_PGTABLE_QUIRK_NO_PERMS: v7s without access-permission bits.</summary>
    NoPerms = 1 << 1,
    /// <summary>VT-d dmar_domain->set_pte_snp (enforce_cache_coherency): set SNP in second-level leaves.</summary>
    IntelForceSnoop = 1 << 2,
}
