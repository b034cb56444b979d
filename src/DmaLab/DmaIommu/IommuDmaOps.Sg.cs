using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Iommu;

namespace DmaLab.DmaIommu;

public sealed partial class IommuDmaOps
{
    void EnsureSgScratch(int n)
    {
        if (_sgPadded.Length >= n) return;
        int cap = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n);
        _sgPadded = new ulong[cap];
        _sgRanges = new (ulong, ulong)[cap];
        _sgIn = new SgSegment[cap];
        _sgOut = new SgDmaSegment[cap];
    }

    /// <summary>
    /// Linux: iommu_dma_map_sg(): sync for the device, lay the entries out in ONE IOVA range (each padded to the
    /// granule, and padded further so no segment crosses the segment boundary), allocate it, map every entry with
    /// iommu_map_sg() (the padding maps the rest of each entry's granule), and merge the result into DMA segments as
    /// __finalise_sg() does. Untrusted / bounce-needing lists map entry by entry through swiotlb instead.
    /// Returns the DMA segment count, or -ENOMEM / -EINVAL / -EIO.
    /// </summary>
    public override int MapSg(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        if (nents <= 0) return -22;
        if (DevUseSgSwiotlb(dev, sg, nents, dir)) return MapSgSwiotlb(dev, sg, nents, dir, attrs, cpu);
        var st = State(dev);
        if ((attrs & DmaAttrs.SkipCpuSync) == 0 && !Coherent(dev))
            for (int i = 0; i < nents; i++) ArchSyncForDevice(sg[i].Phys, sg[i].Length, dir);
        var prot = DmaInfoToProt(dir, Coherent(dev), attrs);
        var alloc = st.Cookie.Allocator;
        ulong granule = alloc.Granule;
        ulong mask = dev.SegmentBoundaryMask != 0 ? dev.SegmentBoundaryMask : ulong.MaxValue;
        EnsureSgScratch(nents);
        var padded = _sgPadded.AsSpan(0, nents);
        var ranges = _sgRanges.AsSpan(0, nents);
        var input = _sgIn.AsSpan(0, nents);
        ulong iovaLen = 0;
        for (int i = 0; i < nents; i++)
        {
            ref var e = ref sg[i];
            ulong phys = e.Phys.Value;
            ulong off = phys & (granule - 1);
            ulong sLen = (e.Length + off + granule - 1) & ~(granule - 1);
            input[i] = new SgSegment(phys, e.Length);
            ranges[i] = (phys - off, sLen);
            // A segment that would cross the boundary starts at the next boundary: the previous one grows by the gap.
            ulong padLen = (mask - iovaLen + 1) & mask;
            if (padLen != 0 && padLen < sLen - 1 && i > 0)
            {
                padded[i - 1] += padLen;
                ranges[i - 1].Length += padLen;
                iovaLen += padLen;
            }
            padded[i] = sLen;
            iovaLen += sLen;
        }
        ulong iova = alloc.AllocIova(st.Master, iovaLen, dev.DmaMask, cpu);
        if (iova == 0) { InvalidateSg(sg, nents); return -12; }
        long ret = _core.MapSg(st.Cookie.Domain, iova, ranges, prot);
        if (ret < 0 || (ulong)ret < iovaLen)
        {
            alloc.FreeIova(iova, iovaLen, cpu);
            InvalidateSg(sg, nents);
            return ret == -12 || ret == -121 ? (int)ret : -22;
        }
        var output = _sgOut.AsSpan(0, nents);
        int count = alloc.FinaliseSg(st.Master, input, padded, iova, output);
        for (int i = 0; i < nents; i++)
        {
            ref var e = ref sg[i];
            if (i < count) { e.DmaAddress = new DmaAddr(output[i].DmaAddress); e.DmaLength = output[i].DmaLength; }
            else { e.DmaAddress = DmaAddr.MappingError; e.DmaLength = 0; }
        }
        return count;
    }

    /// <summary>Linux: __invalidate_sg(): the entries carry no DMA address after a failed map.</summary>
    static void InvalidateSg(Scatterlist sg, int nents)
    {
        for (int i = 0; i < nents; i++) { sg[i].DmaAddress = DmaAddr.MappingError; sg[i].DmaLength = 0; }
    }

    /// <summary>Linux: iommu_dma_map_sg_swiotlb(): each entry through iommu_dma_map_page(); -EIO after undoing on failure.</summary>
    int MapSgSwiotlb(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        for (int i = 0; i < nents; i++)
        {
            ref var e = ref sg[i];
            e.DmaAddress = MapPage(dev, e.Phys, e.Length, dir, attrs, cpu);
            if (e.DmaAddress.IsError)
            {
                for (int j = 0; j < i; j++) UnmapPage(dev, sg[j].DmaAddress, sg[j].DmaLength, dir, attrs | DmaAttrs.SkipCpuSync, cpu);
                InvalidateSg(sg, nents);
                return -5;
            }
            e.DmaLength = e.Length;
        }
        return nents;
    }

    /// <summary>
    /// Linux: iommu_dma_unmap_sg(): sync for the CPU, then unmap the one IOVA range from the first mapped segment's
    /// address to the end of the last (segments with length 0 end the list).
    /// </summary>
    public override void UnmapSg(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        if (DevUseSgSwiotlb(dev, sg, nents, dir))
        {
            for (int i = 0; i < nents; i++)
            {
                if (sg[i].DmaLength == 0) break;
                UnmapPage(dev, sg[i].DmaAddress, sg[i].DmaLength, dir, attrs, cpu);
            }
            return;
        }
        if ((attrs & DmaAttrs.SkipCpuSync) == 0) SyncSgForCpu(dev, sg, nents, dir, cpu);
        if (nents <= 0 || sg[0].DmaLength == 0) return;
        ulong start = sg[0].DmaAddress.Value, end = 0;
        for (int i = 0; i < nents; i++)
        {
            if (sg[i].DmaLength == 0) break;
            end = sg[i].DmaAddress.Value + sg[i].DmaLength;
        }
        IommuDmaUnmap(State(dev), new DmaAddr(start), end - start, cpu);
    }
}
