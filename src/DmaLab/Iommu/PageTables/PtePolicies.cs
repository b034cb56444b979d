namespace DmaLab.Iommu.PageTables;

/// <summary>What a format's map does when a valid leaf already covers part of the new mapping.</summary>
public enum LeafOverlapPolicy : byte
{
    /// <summary>Refuse with the format's overlap errno (LPAE/v7s: -EEXIST, Exynos/Rockchip: -EADDRINUSE).</summary>
    Fail,
    /// <summary>Silently replace it (AMD v1 free_clear_pte(), Tegra, OMAP).</summary>
    Overwrite,
}

/// <summary>What a format's map does when a next-level table sits where a new block/large leaf goes.</summary>
public enum TableUnderLeafPolicy : byte
{
    /// <summary>Refuse with the overlap errno (Rockchip/Tegra have no blocks; kept for formats that refuse).</summary>
    Fail,
    /// <summary>Free the old table, whatever it maps, and install the leaf (arm_lpae_init_pte(), arm_v7s_init_pte(), AMD free_clear_pte(), VT-d switch_to_super_page()).</summary>
    Replace,
    /// <summary>Free it only when it maps nothing, else refuse (Exynos lv1set_section()).</summary>
    ReplaceIfEmpty,
}

/// <summary>What unmap does when asked for less than the leaf that maps the address.</summary>
public enum PartialUnmapPolicy : byte
{
    /// <summary>Return 0 and leave the block (LPAE/v7s without split-on-unmap, Exynos WARN).</summary>
    Refuse,
    /// <summary>Unmap the whole leaf and report its size (AMD v1, VT-d, OMAP).</summary>
    WholeLeaf,
}

/// <summary>When a format gives a next-level table page back on unmap.</summary>
public enum TableFreePolicy : byte
{
    /// <summary>Never on unmap; only when the whole table is freed (AMD v1, Exynos, Rockchip).</summary>
    Never,
    /// <summary>When unmap is called with the block size of the level holding the table entry (io-pgtable-arm, v7s).</summary>
    BlockSizedUnmap,
    /// <summary>When the unmapped range covers all the table maps (VT-d dma_pte_clear_level()).</summary>
    CoveringUnmap,
    /// <summary>As soon as its last entry is cleared (OMAP iopgtable_clear_entry_core(), Tegra use counts).</summary>
    WhenEmpty,
}
