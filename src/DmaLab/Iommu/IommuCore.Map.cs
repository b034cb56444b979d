using DmaLab.Iommu.PageTables;

namespace DmaLab.Iommu;

public sealed partial class IommuCore
{
    /// <summary>
    /// Linux: iommu_map(): maps [iova, iova+size) to paddr splitting by <see cref="IommuPgsize.Select"/>, then
    /// iotlb_sync_map. Returns 0 or -errno; a partial failure is unwound. Emits iommu:map on success.
    /// </summary>
    public int Map(IommuDomain dom, ulong iova, ulong paddr, ulong size, IommuProt prot)
    {
        int ret = MapNoSync(dom, iova, paddr, size, prot);
        if (ret != 0) return ret;
        ret = dom.Ops.IotlbSyncMap(dom, iova, size);
        if (ret != 0) Unmap(dom, iova, size);
        return ret;
    }

    /// <summary>Linux: __iommu_map() / iommu_map_nosync().</summary>
    public int MapNoSync(IommuDomain dom, ulong iova, ulong paddr, ulong size, IommuProt prot)
    {
        ulong bitmap = dom.PgsizeBitmap;
        if (bitmap == 0) { Warn("iommu-warn-on", "", iova, $"map on {dom} with no pgsize_bitmap"); return -Errno.ENODEV; }
        if (!dom.Type.IsPaging()) { Warn("iommu-warn-on", "", iova, $"map on non-paging {dom}"); return -Errno.EINVAL; }
        ulong min = IommuPgsize.MinPageSize(bitmap);
        if (((iova | paddr | size) & (min - 1)) != 0)
        {
            Warn("iommu-unaligned-map", "", iova, $"unaligned: iova 0x{iova:x} pa 0x{paddr:x} size 0x{size:x} min_pagesz 0x{min:x}");
            return -Errno.EINVAL;
        }
        var ops = dom.Ops;
        ulong origIova = iova, origPaddr = paddr, origSize = size;
        int ret = 0;
        while (size != 0)
        {
            ulong pgsize = IommuPgsize.Select(bitmap, iova, paddr, size, out ulong count);
            ret = ops.MapPages(dom, iova, paddr, pgsize, count, prot, out ulong mapped);
            // pages mapped before an error still count, so the unwind below covers them
            size -= mapped;
            if (ret == -Errno.ERANGE && dom.Pgtable is { } pt)
                // Linux: io-pgtable-arm-v7s.c arm_v7s_map_pages() / io-pgtable-arm.c arm_lpae_map_pages() WARN_ON an
                // IOVA beyond ias or a physical address beyond oas before returning -ERANGE.
                Warn("iommu-map-out-of-range", "", iova,
                    $"map of iova 0x{iova:x} -> pa 0x{paddr:x} on {dom} is beyond the table's {pt.Config.Ias}-bit input / {pt.Config.Oas}-bit output (-ERANGE)");
            if (ret != 0) break;
            iova += mapped;
            paddr += mapped;
        }
        if (ret != 0) Unmap(dom, origIova, origSize - size);
        else IommuTrace.Map(Trace, origIova, origPaddr, origSize);
        return ret;
    }

    /// <summary>Linux: iommu_unmap(): unmaps and synchronously invalidates. Returns the bytes unmapped.</summary>
    public ulong Unmap(IommuDomain dom, ulong iova, ulong size)
    {
        var gather = IommuIotlbGather.Init();
        ulong done = UnmapFast(dom, iova, size, ref gather);
        dom.Ops.IotlbSync(dom, ref gather);
        return done;
    }

    /// <summary>
    /// Linux: iommu_unmap_fast() / __iommu_unmap(): unmaps, collecting what must be invalidated into
    /// <paramref name="gather"/> (nothing when the gather is queued for a flush queue). Emits iommu:unmap.
    /// </summary>
    public ulong UnmapFast(IommuDomain dom, ulong iova, ulong size, ref IommuIotlbGather gather)
    {
        ulong bitmap = dom.PgsizeBitmap;
        if (bitmap == 0 || !dom.Type.IsPaging()) { Warn("iommu-warn-on", "", iova, $"unmap on {dom}"); return 0; }
        ulong min = IommuPgsize.MinPageSize(bitmap);
        if (((iova | size) & (min - 1)) != 0)
        {
            Warn("iommu-unaligned-unmap", "", iova, $"unaligned: iova 0x{iova:x} size 0x{size:x} min_pagesz 0x{min:x}");
            return 0;
        }
        var ops = dom.Ops;
        ulong unmapped = 0, origIova = iova;
        while (unmapped < size)
        {
            ulong pgsize = IommuPgsize.Select(bitmap, iova, iova, size - unmapped, out ulong count);
            ulong n = ops.UnmapPages(dom, iova, pgsize, count, ref gather);
            if (n == 0) break;
            iova += n;
            unmapped += n;
        }
        IommuTrace.Unmap(Trace, origIova, size, unmapped);
        return unmapped;
    }

    /// <summary>Linux: iommu_iotlb_sync().</summary>
    public static void IotlbSync(IommuDomain dom, ref IommuIotlbGather gather) => dom.Ops.IotlbSync(dom, ref gather);

    /// <summary>Linux: iommu_flush_iotlb_all().</summary>
    public static void FlushIotlbAll(IommuDomain dom) => dom.Ops.FlushIotlbAll(dom);

    /// <summary>
    /// Linux: iommu_map_sg(): physically contiguous entries are merged and mapped as one range at consecutive IOVAs.
    /// Returns the bytes mapped or -errno (after undoing what was mapped).
    /// </summary>
    public long MapSg(IommuDomain dom, ulong iova, ReadOnlySpan<(ulong Phys, ulong Length)> sg, IommuProt prot)
    {
        ulong mapped = 0, start = 0, len = 0;
        int ret = 0;
        for (int i = 0; i <= sg.Length && ret == 0; i++)
        {
            bool last = i == sg.Length;
            if (len != 0 && (last || sg[i].Phys != start + len))
            {
                ret = MapNoSync(dom, iova + mapped, start, len, prot);
                if (ret != 0) break;
                mapped += len;
                len = 0;
            }
            if (last) break;
            if (len != 0) len += sg[i].Length;
            else { len = sg[i].Length; start = sg[i].Phys; }
        }
        if (ret == 0) ret = dom.Ops.IotlbSyncMap(dom, iova, mapped);
        if (ret != 0)
        {
            Unmap(dom, iova, mapped);
            return ret;
        }
        return (long)mapped;
    }

    /// <summary>Linux: iommu_iova_to_phys(): identity domains return the IOVA, blocked/unfinalised ones 0.</summary>
    public static ulong IovaToPhys(IommuDomain dom, ulong iova)
    {
        if (dom.Type == IommuDomainType.Identity) return iova;
        if (dom.Type == IommuDomainType.Blocked) return 0;
        return dom.Ops.IovaToPhys(dom, iova);
    }
}
