using DmaLab.Mm;

namespace DmaLab.Iommu.PageTables;

/// <summary>
/// The private two-level tables of the seed-era SoC IOMMUs, each a format struct over the shared radix walk:
/// OMAP (omap-iommu.c, 4K|64K|1M|16M, register "TTB"), Exynos SYSMMU v5 (exynos-iommu.c, 4K|64K|1M, 36-bit output,
/// register "PT_BASE_PFN"), Tegra SMMU (tegra-smmu.c, 4K, 34-bit output, register "PTB_DATA" = pfn | RD | WR | NS)
/// and Rockchip (rockchip-iommu.c, 4K..4M as 4K PTEs, register "DTE_ADDR"). All take 32-bit input addresses.
/// </summary>
public static class IoPgtableSoc
{
    public static IIoPgtable Alloc(IoPgtableFormat format, IoPgtableConfig config, PhysicalMemory memory, IPageAllocator pages)
    {
        config.Ias = Math.Min(config.Ias, 32);
        switch (format)
        {
            case IoPgtableFormat.Omap:
            {
                config.Oas = Math.Min(config.Oas, 32);
                config.PgsizeBitmap &= 1UL << 12 | 1UL << 16 | 1UL << 20 | 1UL << 24;
                // 32-bit TTB and descriptors (omap-iommu.c is 32-bit-arm only, where all lowmem is reachable).
                config.TableGfp |= Gfp.Dma32;
                var t = new SocTable<OmapPte>(format, config, memory, pages);
                config.Registers["TTB"] = t.Root.Value;
                return t;
            }
            case IoPgtableFormat.Exynos:
            {
                config.Oas = Math.Min(config.Oas, 36);
                config.PgsizeBitmap &= 1UL << 12 | 1UL << 16 | 1UL << 20;
                // SYSMMU v1-v3 take 32-bit table addresses; exynos-iommu.c uses plain GFP_KERNEL because those parts
                // are 32-bit arm SoCs with all DRAM below 4 GiB, so the model asks for the zone that guarantees it.
                if (config.Oas <= 32) config.TableGfp |= Gfp.Dma32;
                var t = new SocTable<ExynosPte>(format, config, memory, pages);
                config.Registers["PT_BASE_PFN"] = t.Root.Value >> 12;
                return t;
            }
            case IoPgtableFormat.Tegra:
            {
                config.Oas = Math.Min(config.Oas, 34);
                config.PgsizeBitmap &= 1UL << 12;
                // tegra-smmu.c allocates its page directory and page tables with __GFP_DMA.
                config.TableGfp |= Gfp.Dma;
                var t = new SocTable<TegraPte>(format, config, memory, pages);
                config.Registers["PTB_DATA"] = t.Root.Value >> 12 | TegraPte.Readable | TegraPte.Writable | TegraPte.NonSecure;
                return t;
            }
            case IoPgtableFormat.Rockchip:
            {
                config.Oas = Math.Min(config.Oas, 32);
                config.PgsizeBitmap &= 0x007f_f000;
                // rockchip-iommu.c: v1 (32-bit DTE_ADDR and PTEs) allocates its tables with rk_ops->gfp_flags =
                // GFP_DMA32; v2 (40-bit) with none.
                if (config.Oas <= 32) config.TableGfp |= Gfp.Dma32;
                var t = new SocTable<RockchipPte>(format, config, memory, pages);
                config.Registers["DTE_ADDR"] = t.Root.Value;
                return t;
            }
            default:
                throw new ArgumentException($"{format} is not one of the SoC two-level formats");
        }
    }

    sealed class SocTable<TFormat>(IoPgtableFormat format, IoPgtableConfig config, PhysicalMemory memory, IPageAllocator pages)
        : IoPgtableRadix<TFormat>(format, config, memory, pages, default) where TFormat : struct, IPteFormat;
}
