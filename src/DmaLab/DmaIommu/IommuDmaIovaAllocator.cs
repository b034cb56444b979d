using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Iova;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.DmaIommu;

/// <summary>
/// The IOVA side of an iommu-dma cookie (Linux: drivers/iommu/dma-iommu.c, struct iommu_dma_cookie with
/// iommu_dma_init_domain(), iommu_dma_alloc_iova(), iommu_dma_free_iova(), the IOVA sizing of __iommu_dma_map(),
/// __iommu_dma_unmap(), iommu_dma_map_sg()/__finalise_sg(), iommu_dma_get_msi_page() and the reserved-region
/// handling). It decides which IOVA a mapping gets; page tables are another layer's business.
/// </summary>
public sealed class IommuDmaIovaAllocator
{
    readonly SimClock _clock;
    readonly List<(ulong Phys, ulong Iova)> _msiPages = new();
    readonly bool _msiCookie;
    ulong _msiIova;

    /// <summary>
    /// An IOVA cookie for a DMA domain, initialised as iommu_dma_init_domain() does: the granule is the smallest page
    /// size in <paramref name="pgsizeBitmap"/>; start_pfn is 1 (IOVA 0 stays invalid) unless the device has a
    /// dma_range_map, in which case it is max(lowest DMA address, aperture start) &gt;&gt; order.
    /// </summary>
    public IommuDmaIovaAllocator(ulong pgsizeBitmap, ulong apertureStart, ulong apertureEnd, bool forceAperture = true,
        bool forceDac = false, int cpus = 1, SimClock? clock = null, int hz = 250, ulong? dmaRangeMin = null, int depotLimit = 0)
    {
        if (pgsizeBitmap == 0) throw new ArgumentException("pgsize_bitmap is empty", nameof(pgsizeBitmap));
        int order = IovaMath.Ffs(pgsizeBitmap);
        ulong basePfn = 1;
        if (dmaRangeMin is ulong min)
        {
            if (min > apertureEnd)
                throw new ArgumentException($"DMA range starting 0x{min:x} lies outside the IOMMU aperture ending 0x{apertureEnd:x} (iommu_dma_init_domain)");
            basePfn = Math.Max(min, apertureStart) >> order;
        }
        _clock = clock ?? new SimClock();
        Iovad = new IovaDomain(1UL << order, basePfn, cpus, _clock, hz) { DepotLimit = depotLimit };
        ApertureStart = apertureStart;
        ApertureEnd = apertureEnd;
        ForceAperture = forceAperture;
        ForceDac = forceDac;
    }

    IommuDmaIovaAllocator(ulong msiBase, SimClock? clock)
    {
        _msiCookie = true;
        _msiIova = msiBase;
        _clock = clock ?? new SimClock();
        Iovad = null!;
    }

    /// <summary>
    /// Linux: iommu_get_msi_cookie(): an unmanaged domain whose owner manages its own IOVAs but wants MSI doorbells
    /// remapped; doorbell pages get consecutive PAGE_SIZE slots from <paramref name="msiBase"/>.
    /// </summary>
    public static IommuDmaIovaAllocator ForMsiCookie(ulong msiBase, SimClock? clock = null) => new(msiBase, clock);

    /// <summary>The domain's IOVA allocator (null for an MSI-only cookie).</summary>
    public IovaDomain Iovad { get; }
    public bool IsMsiCookie => _msiCookie;
    public ulong ApertureStart { get; }
    public ulong ApertureEnd { get; }
    /// <summary>domain->geometry.force_aperture: clamp every limit to the aperture end.</summary>
    public bool ForceAperture { get; }
    /// <summary>iommu.forcedac=1: PCI devices skip the 32-bit-first attempt.</summary>
    public bool ForceDac { get; }
    /// <summary>The flush queue when the domain is DMA_FQ (lazy); null in strict mode.</summary>
    public FlushQueue? Fq { get; private set; }
    public ulong Granule => _msiCookie ? 1UL << PhysAddr.PageShift : Iovad.Granule;
    public int Shift => Iovad.Shift;

    /// <summary>iommu_dma_alloc_iova() calls that returned 0.</summary>
    public long AllocFailures { get; private set; }

    /// <summary>
    /// Linux: iommu_dma_init_fq() for a DMA_FQ domain. The kernel only does this when the device reports
    /// IOMMU_CAP_DEFERRED_FLUSH (otherwise the domain silently stays strict); the single queue when it shadows flushes.
    /// </summary>
    public FlushQueue EnableFlushQueue(IIotlbFlushAll iommu, FlushQueueType type = FlushQueueType.PerCpu, int hz = 250,
        JiffyClock? jiffies = null)
    {
        if (_msiCookie) throw new InvalidOperationException("an MSI cookie has no flush queue");
        return Fq ??= new FlushQueue(Iovad, iommu, _clock, type, hz, jiffies: jiffies) { Rivals = Rivals };
    }

    /// <summary>Rival hypotheses of this lazy domain's state that a replay keeps while the trace cannot decide when a
    /// flush ran (empty unless a replay spawns them); every allocation and free is applied to them too.</summary>
    public IovaRivals Rivals => _rivals ??= new IovaRivals(this);
    IovaRivals? _rivals;

    /// <summary>Linux: iommu_setup_dma_ops() for a device whose default domain is this DMA domain.</summary>
    public IommuDmaMaster Attach(Device device) => new(device ?? throw new ArgumentNullException(nameof(device)), ForceDac);

    /// <summary>Linux: iova_reserve_iommu_regions(): reserve_iova() over a reserved region (not for SW_MSI).</summary>
    public IovaRange ReserveRegion(ulong start, ulong length, bool hwMsi = false)
    {
        if (length == 0) throw new ArgumentException("reserved region of length 0", nameof(length));
        var r = Iovad.ReserveIova(Iovad.IovaPfn(start), Iovad.IovaPfn(start + length - 1));
        if (hwMsi)
        {
            // cookie_init_hw_msi_region(): doorbells in an IOMMU_RESV_MSI region are identity-mapped by hardware.
            ulong s = start - Iovad.IovaOffset(start);
            ulong pages = Iovad.IovaAlign(start + length - s) >> Shift;
            for (ulong i = 0; i < pages; i++) _msiPages.Add((s + (i << Shift), s + (i << Shift)));
        }
        return r;
    }

    /// <summary>
    /// Linux: iova_reserve_pci_windows(): keeps the host bridge's memory windows (bus addresses, i.e. CPU address
    /// minus offset) out of the IOVA space, then the gaps between its sorted dma-ranges.
    /// </summary>
    public void ReservePciWindows(IEnumerable<(ulong Start, ulong End, ulong Offset)> memWindows,
        IEnumerable<(ulong Start, ulong End, ulong Offset)>? dmaRanges = null)
    {
        foreach (var w in memWindows)
            Iovad.ReserveIova(Iovad.IovaPfn(w.Start - w.Offset), Iovad.IovaPfn(w.End - w.Offset));
        if (dmaRanges == null) return;
        var sorted = dmaRanges.OrderBy(r => r.Start).ToList();
        ulong start = 0;
        for (int i = 0; i < sorted.Count; i++)
        {
            ulong end = sorted[i].Start - sorted[i].Offset;
            while (true)
            {
                if (end > start) Iovad.ReserveIova(Iovad.IovaPfn(start), Iovad.IovaPfn(end));
                else if (end < start)
                    throw new ArgumentException($"PCI dma-ranges overlap at 0x{end:x} (iova_reserve_pci_windows: Failed to reserve IOVA)");
                start = sorted[i].End - sorted[i].Offset + 1;
                if (i == sorted.Count - 1 && end != ulong.MaxValue) { end = ulong.MaxValue; continue; }
                break;
            }
        }
    }

    /// <summary>Runs the flush-queue timer and the depot work whose virtual time has come, in time order.</summary>
    public void RunDueEvents()
    {
        if (_msiCookie) return;
        RunDue(Fq, Iovad);
    }

    /// <summary>The due flush-queue timer and depot work of a queue and its domain, in time order.</summary>
    internal static void RunDue(FlushQueue? fq, IovaDomain iovad)
    {
        ulong now = iovad.NowNs;
        while (true)
        {
            ulong timer = fq?.DueNs ?? ulong.MaxValue;
            ulong work = iovad.NextWorkDueNs;
            if (timer > now && work > now) return;
            if (timer <= work) fq!.RunExpiredTimer();
            else iovad.RunDueWorkUntil(work);
        }
    }

    /// <summary>
    /// Linux: iommu_dma_alloc_iova(): <paramref name="size"/> bytes (already a granule multiple) below
    /// min_not_zero(dma_limit, bus_dma_limit), clamped to the aperture; PCI devices first try below 4 GiB and stop
    /// trying after the first failure. Returns the IOVA, or 0 on failure.
    /// </summary>
    public ulong AllocIova(IommuDmaMaster master, ulong size, ulong dmaLimit, int cpu)
    {
        ulong steer = Steer;
        Steer = SteeredFrom = 0;
        if (_msiCookie)
        {
            _msiIova += size;
            return _msiIova - size;
        }
        RunDueEvents();
        int shift = Iovad.Shift;
        ulong iovaLen = size >> shift;
        dmaLimit = Limit(master, dmaLimit);
        bool try32 = dmaLimit > Mask32 && master.Pci32BitWorkaround;
        if (_rivals is { Count: > 0 }) _rivals.Alloc(iovaLen, try32, Mask32 >> shift, dmaLimit >> shift, cpu);
        if (steer == 0) return AllocOwn(master, iovaLen, try32, dmaLimit, cpu);
        ulong want = steer >> shift, wantLimit = (try32 ? Mask32 : dmaLimit) >> shift;
        // A range-cache hit is known before allocating (a look at the magazine's top); a tree allocation is undone
        // after the fact when it is not the kernel's.
        ulong cached = Iovad.PeekCached(cpu, iovaLen, (try32 ? Mask32 : dmaLimit) >> shift);
        if (cached != 0)
        {
            if (cached == want || !Iovad.TakeExact(cpu, want, iovaLen, wantLimit)) return AllocOwn(master, iovaLen, try32, dmaLimit, cpu);
            SteeredFrom = cached << shift;
            return steer;
        }
        var hints = Iovad.TreeHints;
        long hits = Iovad.Stats.RcacheHits, retries = Iovad.Stats.RcacheFlushRetries;
        ulong own = AllocOwn(master, iovaLen, try32, dmaLimit, cpu);
        if (own == 0 || own == steer || Iovad.Stats.RcacheHits != hits || Iovad.Stats.RcacheFlushRetries != retries
            || try32 != (dmaLimit > Mask32 && master.Pci32BitWorkaround) || !Iovad.UndoTreeAlloc(own >> shift, hints))
            return own;
        if (Iovad.TakeExact(cpu, want, iovaLen, wantLimit))
        {
            SteeredFrom = own;
            return steer;
        }
        return AllocOwn(master, iovaLen, try32, dmaLimit, cpu); // the state is as it was: the same answer again
    }

    /// <summary>The allocation of <see cref="AllocIova"/> by the kernel's rules: below 4 GiB first for a PCI device
    /// that has not fallen back yet, then below the limit.</summary>
    ulong AllocOwn(IommuDmaMaster master, ulong iovaLen, bool try32, ulong dmaLimit, int cpu)
    {
        int shift = Iovad.Shift;
        ulong pfn;
        if (try32)
        {
            pfn = Iovad.AllocIovaFast(cpu, iovaLen, Mask32 >> shift, false);
            if (pfn != 0) return pfn << shift;
            master.Pci32BitWorkaround = false; // dev_notice "Using %d-bit DMA addresses"
            master.DacFallbacks++;
        }
        pfn = Iovad.AllocIovaFast(cpu, iovaLen, dmaLimit >> shift, true);
        if (pfn == 0) AllocFailures++;
        return pfn << shift;
    }

    const ulong Mask32 = 0xffff_ffffUL;

    /// <summary>
    /// For a replay: the kernel's IOVA (granule-aligned) for the next <see cref="AllocIova"/>, 0 when not known; the
    /// call consumes it. When the allocator's own answer differs and the kernel's range is free here (in a CPU's range
    /// cache or in the tree, <see cref="IovaDomain.TakeExact"/>), the allocation takes the kernel's range, so the
    /// domain goes on from the traced machine's state rather than from its own wrong guess; <see cref="SteeredFrom"/>
    /// then holds the allocator's own answer.
    /// </summary>
    public ulong Steer { get; set; }

    /// <summary>The IOVA the last <see cref="AllocIova"/> would have given had it not taken <see cref="Steer"/>'s;
    /// 0 when it gave its own.</summary>
    public ulong SteeredFrom { get; private set; }

    /// <summary>min_not_zero(dma_limit, bus_dma_limit), clamped to the aperture.</summary>
    ulong Limit(IommuDmaMaster master, ulong dmaLimit)
    {
        ulong busLimit = master.Device.BusDmaLimit;
        if (busLimit != 0 && (dmaLimit == 0 || busLimit < dmaLimit)) dmaLimit = busLimit;
        if (ForceAperture) dmaLimit = Math.Min(dmaLimit, ApertureEnd);
        return dmaLimit;
    }

    /// <summary>The IOVA <see cref="AllocIova"/> would return now, changing no allocator state (due timers and
    /// depot work do run, as they would before the real call); 0 when the preview cannot tell (both the range caches
    /// and the tree miss).</summary>
    public ulong PeekIova(IommuDmaMaster master, ulong size, ulong dmaLimit, int cpu)
    {
        if (_msiCookie) return _msiIova;
        RunDueEvents();
        return PeekOn(Iovad, master, size, dmaLimit, cpu);
    }

    /// <summary><see cref="PeekIova"/> on <paramref name="iovad"/> (this domain or a rival of it), due events not run.</summary>
    internal ulong PeekOn(IovaDomain iovad, IommuDmaMaster master, ulong size, ulong dmaLimit, int cpu)
    {
        int shift = iovad.Shift;
        ulong iovaLen = size >> shift;
        dmaLimit = Limit(master, dmaLimit);
        if (dmaLimit > Mask32 && master.Pci32BitWorkaround)
        {
            ulong low = iovad.PeekAllocIovaFast(cpu, iovaLen, Mask32 >> shift);
            if (low != 0) return low << shift;
        }
        return iovad.PeekAllocIovaFast(cpu, iovaLen, dmaLimit >> shift) << shift;
    }

    /// <summary>
    /// Linux: iommu_dma_free_iova(): into the flush queue when the unmap was queued (lazy domain), otherwise straight
    /// back to the rcache. <paramref name="freedTablePages"/> rides with a queued entry until its invalidation.
    /// </summary>
    public void FreeIova(ulong iova, ulong size, int cpu, bool queued = false, int freedTablePages = 0)
    {
        if (_msiCookie)
        {
            _msiIova -= size; // the MSI cookie only ever undoes its latest allocation
            return;
        }
        RunDueEvents();
        if (_rivals is { Count: > 0 }) _rivals.Free(Iovad.IovaPfn(iova), size >> Iovad.Shift, cpu, queued && Fq != null, freedTablePages);
        if (queued && Fq != null) Fq.QueueIova(cpu, Iovad.IovaPfn(iova), size >> Iovad.Shift, freedTablePages);
        else Iovad.FreeIovaFast(cpu, Iovad.IovaPfn(iova), size >> Iovad.Shift);
    }

    /// <summary>IOVA bytes __iommu_dma_map() allocates for a buffer at <paramref name="phys"/>: iova_align(size + offset).</summary>
    public ulong MapSize(ulong phys, ulong size) => Iovad.IovaAlign(size + Iovad.IovaOffset(phys));

    /// <summary>
    /// Linux: __iommu_dma_map() without the page-table write: the IOVA for <paramref name="size"/> bytes at
    /// <paramref name="phys"/> below <paramref name="dmaMask"/>, returned with phys's offset within the granule.
    /// </summary>
    public DmaAddr MapPage(IommuDmaMaster master, ulong phys, ulong size, ulong dmaMask, int cpu)
    {
        // The allocator cannot honour a min_align_mask wider than the granule (dev_WARN_ONCE in the kernel).
        if (master.Device.MinAlignMask > Granule - 1) return DmaAddr.MappingError;
        ulong off = Iovad.IovaOffset(phys);
        ulong iova = AllocIova(master, Iovad.IovaAlign(size + off), dmaMask, cpu);
        return iova == 0 ? DmaAddr.MappingError : new DmaAddr(iova + off);
    }

    /// <summary>
    /// Linux: the IOVA part of __iommu_dma_unmap(): the granule-aligned range covering
    /// [<paramref name="dmaAddr"/>, +size) goes back (queued when the domain has a flush queue).
    /// Returns the (iova, size) that was freed so the caller can unmap the page tables.
    /// </summary>
    public (ulong Iova, ulong Size) Unmap(DmaAddr dmaAddr, ulong size, int cpu, int freedTablePages = 0)
    {
        ulong off = Iovad.IovaOffset(dmaAddr.Value);
        ulong iova = dmaAddr.Value - off;
        size = Iovad.IovaAlign(size + off);
        FreeIova(iova, size, cpu, queued: Fq != null, freedTablePages);
        return (iova, size);
    }

    /// <summary>
    /// Linux: iommu_dma_alloc() IOVA choice: the remap path allocates iova_align(size) below the coherent mask
    /// (with a 4 KiB granule that is PAGE_ALIGN(size)), as does the atomic/contiguous path for its page-aligned buffer.
    /// </summary>
    public DmaAddr AllocCoherent(IommuDmaMaster master, ulong size, int cpu)
    {
        ulong iova = AllocIova(master, Iovad.IovaAlign(size), master.Device.CoherentDmaMask, cpu);
        return iova == 0 ? DmaAddr.MappingError : new DmaAddr(iova);
    }

    /// <summary>
    /// Linux: iommu_dma_map_sg() + __finalise_sg(): one IOVA range for the whole list, each segment padded to the
    /// granule and, where the segment boundary mask is smaller than the total, padded so no segment crosses it;
    /// output segments merge where the next input starts on a granule and neither the boundary nor max_seg_size
    /// forbids it. Returns the number of DMA segments written to <paramref name="output"/>, or -ENOMEM (-12).
    /// </summary>
    public int MapSg(IommuDmaMaster master, ReadOnlySpan<SgSegment> sg, Span<SgDmaSegment> output, int cpu)
    {
        if (sg.Length == 0) return 0;
        if (output.Length < sg.Length) throw new ArgumentException("output span shorter than the scatterlist", nameof(output));
        Span<ulong> padded = sg.Length <= 128 ? stackalloc ulong[sg.Length] : new ulong[sg.Length];
        ulong iovaLen = SgIovaLength(master, sg, padded);
        ulong iova = AllocIova(master, iovaLen, master.Device.DmaMask, cpu);
        if (iova == 0) return -12;
        return FinaliseSg(master, sg, padded, iova, output);
    }

    /// <summary>The IOVA <see cref="MapSg"/> would give the list's first segment now (before its page offset), 0 when
    /// the preview cannot tell (see <see cref="PeekIova"/>).</summary>
    public ulong PeekSg(IommuDmaMaster master, ReadOnlySpan<SgSegment> sg, int cpu, out ulong iovaLen)
    {
        iovaLen = 0;
        if (sg.Length == 0) return 0;
        Span<ulong> padded = sg.Length <= 128 ? stackalloc ulong[sg.Length] : new ulong[sg.Length];
        iovaLen = SgIovaLength(master, sg, padded);
        return PeekIova(master, iovaLen, master.Device.DmaMask, cpu);
    }

    /// <summary>The IOVA length of iommu_dma_map_sg(): each segment padded to the granule and, where the segment
    /// boundary mask is smaller than the total, padded so no segment crosses it (the padding is written to
    /// <paramref name="padded"/>).</summary>
    ulong SgIovaLength(IommuDmaMaster master, ReadOnlySpan<SgSegment> sg, Span<ulong> padded)
    {
        ulong mask = master.Device.SegmentBoundaryMask != 0 ? master.Device.SegmentBoundaryMask : ulong.MaxValue;
        ulong iovaLen = 0;
        for (int i = 0; i < sg.Length; i++)
        {
            ulong sLen = Iovad.IovaAlign(sg[i].Length + Iovad.IovaOffset(sg[i].Phys));
            ulong padLen = (mask - iovaLen + 1) & mask;
            if (padLen != 0 && padLen < sLen - 1)
            {
                padded[i - 1] += padLen;
                iovaLen += padLen;
            }
            padded[i] = sLen;
            iovaLen += sLen;
        }
        return iovaLen;
    }

    /// <summary>Linux: __finalise_sg() (unsigned int lengths, as in the kernel).</summary>
    public int FinaliseSg(IommuDmaMaster master, ReadOnlySpan<SgSegment> sg, ReadOnlySpan<ulong> padded, ulong dmaAddr,
        Span<SgDmaSegment> output)
    {
        ulong segMask = master.Device.SegmentBoundaryMask != 0 ? master.Device.SegmentBoundaryMask : ulong.MaxValue;
        // dma_get_max_seg_size(): SZ_64K when the device set none.
        uint maxLen = master.Device.MaxSegmentSize != 0 ? (uint)Math.Min(master.Device.MaxSegmentSize, uint.MaxValue) : 65536u;
        uint curLen = 0;
        int count = 0, cur = -1;
        for (int i = 0; i < sg.Length; i++)
        {
            ulong sIovaOff = Iovad.IovaOffset(sg[i].Phys);
            uint sLength = sg[i].Length;
            ulong sIovaLen = padded[i];
            if (curLen != 0 && sIovaOff == 0 && (dmaAddr & segMask) != 0 && maxLen - curLen >= sLength)
            {
                curLen += sLength; // concatenate with the previous output segment
                output[cur] = new SgDmaSegment(output[cur].DmaAddress, curLen);
            }
            else
            {
                cur++;
                count++;
                curLen = sLength;
                output[cur] = new SgDmaSegment(dmaAddr + sIovaOff, curLen);
            }
            dmaAddr += sIovaLen;
            // A segment that does not fill its IOVA slot ends the run: the next cannot be contiguous with it.
            if (sLength + sIovaOff < sIovaLen) curLen = 0;
        }
        return count;
    }

    /// <summary>
    /// Linux: the IOVA part of iommu_dma_unmap_sg(): the list was one contiguous allocation from the first segment's
    /// address to the end of the last.
    /// </summary>
    public void UnmapSg(ReadOnlySpan<SgDmaSegment> mapped, int cpu)
    {
        if (mapped.Length == 0 || mapped[0].DmaLength == 0) return;
        ulong start = mapped[0].DmaAddress, end = 0;
        foreach (var s in mapped)
        {
            if (s.DmaLength == 0) break;
            end = s.DmaAddress + s.DmaLength;
        }
        Unmap(new DmaAddr(start), end - start, cpu);
    }

    /// <summary>
    /// Linux: iommu_dma_get_msi_page(): the IOVA at which the doorbell page containing <paramref name="msiAddr"/> is
    /// mapped in this domain, allocating one granule (below the device's DMA mask) the first time. On SMMU-style
    /// platforms this is the domain's first IOVA, e.g. 0xfffff000 for the GIC ITS doorbell. Returns 0 on failure.
    /// The caller maps the page with IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO.
    /// </summary>
    public ulong GetMsiPage(IommuDmaMaster master, ulong msiAddr, int cpu)
    {
        ulong size = Granule;
        msiAddr &= ~(size - 1);
        foreach (var (phys, iova) in _msiPages)
            if (phys == msiAddr) return iova;
        ulong fresh = AllocIova(master, size, master.Device.DmaMask, cpu);
        if (fresh == 0) return 0;
        _msiPages.Add((msiAddr, fresh));
        return fresh;
    }

    /// <summary>Doorbell pages known to the cookie (phys page, IOVA), in the order they were added.</summary>
    public IReadOnlyList<(ulong Phys, ulong Iova)> MsiPages => _msiPages;
}
