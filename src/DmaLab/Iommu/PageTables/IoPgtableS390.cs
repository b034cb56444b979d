using DmaLab.Mm;

namespace DmaLab.Iommu.PageTables;

/// <summary>
/// s390 zPCI DMA translation tables (Linux 6.15: drivers/iommu/s390-iommu.c dma_walk_cpu_trans(),
/// s390_iommu_validate_trans()/invalidate_trans(), dma_cleanup_tables(); arch/s390/include/asm/pci_dma.h). 4 KiB pages
/// only. <see cref="IoPgtableConfig.Levels"/> 3 is a region-third-table origin (ias 42 = ZPCI_TABLE_SIZE_RT, what
/// Linux up to 6.15 always uses), 4 a region-second (ias 53), 5 a region-first (64-bit) origin as 6.16 adds for
/// functions whose DTSM allows it; 0 picks the smallest that covers <see cref="IoPgtableConfig.Ias"/>.
/// Register "IOTA": the I/O translation anchor the driver registers with MPCIFC, table origin | ZPCI_IOTA_IOT_ENABLED |
/// ZPCI_KEY (0) | the designation type (ZPCI_IOTA_RTTO/RSTO/RFTO_FLAG).
/// Unmap follows s390_iommu_invalidate_trans(): every page of the range is invalidated and the full size reported,
/// whether it was mapped or not; tables missing on the way are allocated as dma_walk_cpu_trans() does, and an entry
/// that was already invalid is counted in <see cref="InvalidatedInvalid"/> (the kernel's WARN_ON_ONCE in
/// invalidate_pt_entry()).
/// </summary>
public sealed class IoPgtableS390 : IoPgtableRadix<S390Pte>, IIoPgtable
{
    /// <summary>ZPCI_IOTA_IOT_ENABLED.</summary>
    public const ulong IotaIotEnabled = 0x800;
    /// <summary>ZPCI_IOTA_DT_RT/RS/RF: designation type [3:2] = ZPCI_IOTA_RTTO (1), RSTO (2), RFTO (3).</summary>
    public const ulong IotaDtRt = 1 << 2, IotaDtRs = 2 << 2, IotaDtRf = 3 << 2;
    /// <summary>ZPCI_TABLE_SIZE_RT: the IOVA space a region-third table covers.</summary>
    public const ulong TableSizeRt = 1UL << 42;
    const ulong PageSize = 1UL << 12;

    public IoPgtableS390(IoPgtableConfig config, PhysicalMemory memory, IPageAllocator pages)
        : base(IoPgtableFormat.S390, config, memory, pages, Negotiate(config))
    {
        ulong dt = Fmt.Levels switch { 3 => IotaDtRt, 4 => IotaDtRs, _ => IotaDtRf };
        config.Registers["IOTA"] = Root.Value | IotaIotEnabled | dt;
    }

    /// <summary>Unmaps that found a page-table entry already invalid (Linux: WARN_ON_ONCE in invalidate_pt_entry()).</summary>
    public long InvalidatedInvalid { get; private set; }

    static S390Pte Negotiate(IoPgtableConfig config)
    {
        int levels = config.Levels != 0 ? config.Levels : config.Ias <= 42 ? 3 : config.Ias <= 53 ? 4 : 5;
        if (levels is < 3 or > 5) throw new ArgumentException($"s390 DMA tables: {levels} levels is not 3 (RTX), 4 (RSX) or 5 (RFX)");
        config.Levels = levels;
        config.Ias = Math.Min(config.Ias, levels switch { 3 => 42, 4 => 53, _ => 64 });
        config.Oas = Math.Min(config.Oas, 64);
        config.PgsizeBitmap &= PageSize;
        if (config.PgsizeBitmap == 0) throw new ArgumentException("s390 DMA tables: only 4 KiB pages exist (pgsize_bitmap SZ_4K)");
        return new S390Pte(levels);
    }

    /// <summary>The page-table entry's address for <paramref name="iova"/>, or 0 when a table on the way is missing.</summary>
    ulong PteAddress(ulong iova)
    {
        ulong table = Root.Value;
        for (int lvl = 0; lvl < Fmt.Levels - 1; lvl++)
        {
            ulong pte = ReadPte(table + ((iova >> Fmt.Shift(lvl)) & ((1UL << Fmt.IndexBits(lvl)) - 1)) * 8);
            if (Fmt.Classify(pte, lvl) != PteKind.Table) return 0;
            table = Fmt.TableAddress(pte, lvl);
        }
        return table + ((iova >> 12) & ((1UL << S390Pte.PtBits) - 1)) * 8;
    }

    /// <summary>Linux: s390_iommu_unmap_pages() → s390_iommu_invalidate_trans().</summary>
    ulong IIoPgtable.UnmapPages(ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather)
    {
        ulong last = Config.Ias >= 64 ? ulong.MaxValue : (1UL << Config.Ias) - 1;
        if (pgsize != PageSize || pgcount == 0 || (iova & (PageSize - 1)) != 0 || iova > last || pgcount - 1 > (last - iova) >> 12)
            return UnmapPages(iova, pgsize, pgcount, ref gather);
        ulong runStart = iova, run = 0;
        for (ulong i = 0; i < pgcount; i++)
        {
            ulong a = iova + (i << 12);
            ulong ptep = PteAddress(a);
            if (ptep != 0 && Fmt.Classify(ReadPte(ptep), Fmt.Levels - 1) == PteKind.Leaf) { run++; continue; }
            if (run != 0) UnmapPages(runStart, PageSize, run, ref gather);
            run = 0;
            runStart = a + PageSize;
            InvalidatedInvalid++;
            if (ptep != 0)
            {
                WritePte(ptep, Fmt.ClearedLeaf(ReadPte(ptep)));
                continue;
            }
            // dma_walk_cpu_trans() allocates the missing tables (GFP_ATOMIC); their fresh entry is ZPCI_PTE_INVALID,
            // which the invalidation leaves as it is. Mapping and clearing it builds exactly that; an allocation
            // failure makes the kernel return 0 with the pages before it already invalidated.
            if (MapPages(a, 0, PageSize, 1, IommuProt.Read, out _) != 0) return 0;
            var scratch = IommuIotlbGather.Init();
            scratch.Queued = true;
            UnmapPages(a, PageSize, 1, ref scratch);
        }
        if (run != 0) UnmapPages(runStart, PageSize, run, ref gather);
        return pgcount << 12;
    }
}
