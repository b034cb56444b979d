namespace DmaLab.Analysis;

/// <summary>
/// Bytes a device can reach outside the buffers it was given. Through an IOMMU the unit of access control is the
/// IOMMU page: mapping a 512-byte buffer maps its whole 4 KiB page, so the other 3,584 bytes of that page (whatever
/// the kernel keeps there) become reachable — the sub-page exposure that iommu-dma's bouncing of untrusted devices
/// exists for (Linux: drivers/iommu/dma-iommu.c, dev_use_swiotlb() / iova_unaligned()). Without translation
/// (passthrough, dma-direct) the device reaches all of DRAM. Exact per physical page: a page reachable through any
/// live mapping exposes its bytes not covered by a live buffer. Buffers handed to the same device never overlap.
/// </summary>
public sealed class ExposureTracker
{
    readonly ulong _dramBytes;
    readonly Dictionary<ulong, (int Refs, ulong Covered)> _pages = new();
    ulong _exposed;

    /// <param name="dramBytes">Total DRAM: what an untranslated device reaches.</param>
    public ExposureTracker(ulong dramBytes) => _dramBytes = dramBytes;

    /// <summary>Bytes of live buffers given to the device now.</summary>
    public ulong LiveBufferBytes { get; private set; }
    /// <summary>Bytes of live buffers reached without translation (they add nothing: all DRAM is reachable anyway).</summary>
    public ulong LiveUntranslatedBytes { get; private set; }
    /// <summary>Live mappings that are untranslated (identity/bypass/dma-direct).</summary>
    public int LiveUntranslated { get; private set; }
    /// <summary>Sum over map calls of (page-granular span − buffer size): the plain sub-page exposure count.</summary>
    public ulong SubPageBytesTotal { get; private set; }
    /// <summary>Highest number of bytes reachable outside the live buffers at any moment.</summary>
    public ulong PeakOutsideBytes { get; private set; }
    public long Maps { get; private set; }
    /// <summary>Some mapping was untranslated: the device could reach all of DRAM.</summary>
    public bool FullMemory { get; private set; }

    /// <summary>Bytes reachable outside the live buffers now.</summary>
    public ulong OutsideBytes => LiveUntranslated > 0 ? _dramBytes - Math.Min(_dramBytes, LiveBufferBytes) : _exposed;

    /// <summary>
    /// The device was given [<paramref name="phys"/>, +<paramref name="size"/>). <paramref name="granule"/> is the
    /// smallest IOMMU page of its domain, or 0 when its DMA is not translated.
    /// </summary>
    public void OnMap(ulong phys, ulong size, ulong granule)
    {
        if (size == 0) return;
        Maps++;
        LiveBufferBytes += size;
        if (granule == 0)
        {
            LiveUntranslated++;
            LiveUntranslatedBytes += size;
            FullMemory = true;
        }
        else
        {
            ulong first = phys & ~(granule - 1), end = AlignUp(phys + size, granule);
            SubPageBytesTotal += end - first - size;
            for (ulong p = first; p < end; p += granule)
            {
                ulong covered = Math.Min(p + granule, phys + size) - Math.Max(p, phys);
                _pages.TryGetValue(p, out var u);
                ulong before = u.Refs > 0 ? granule - u.Covered : 0;
                u = (u.Refs + 1, u.Covered + covered);
                _pages[p] = u;
                _exposed = _exposed - before + (granule - Math.Min(granule, u.Covered));
            }
        }
        if (OutsideBytes > PeakOutsideBytes) PeakOutsideBytes = OutsideBytes;
    }

    /// <summary>The mapping made by <see cref="OnMap"/> with the same arguments is gone.</summary>
    public void OnUnmap(ulong phys, ulong size, ulong granule)
    {
        if (size == 0) return;
        LiveBufferBytes -= size;
        if (granule == 0)
        {
            LiveUntranslated--;
            LiveUntranslatedBytes -= size;
            return;
        }
        ulong first = phys & ~(granule - 1), end = AlignUp(phys + size, granule);
        for (ulong p = first; p < end; p += granule)
        {
            ulong covered = Math.Min(p + granule, phys + size) - Math.Max(p, phys);
            var u = _pages[p];
            ulong before = granule - Math.Min(granule, u.Covered);
            u = (u.Refs - 1, u.Covered - covered);
            if (u.Refs == 0) { _pages.Remove(p); _exposed -= before; }
            else { _pages[p] = u; _exposed = _exposed - before + (granule - Math.Min(granule, u.Covered)); }
        }
    }

    /// <summary>Adds the exposure metrics to a result.</summary>
    public void Report(WorkloadResult r)
    {
        r.Add("exposure-outside-peak", PeakOutsideBytes, "bytes")
         .Add("exposure-subpage-total", SubPageBytesTotal, "bytes")
         .Add("exposure-full-memory", FullMemory ? 1 : 0, "bool");
    }

    static ulong AlignUp(ulong v, ulong a) => (v + a - 1) & ~(a - 1);
}
