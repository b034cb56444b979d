using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Trace;

namespace DmaLab.Replay;

public sealed partial class MachineReplayModel
{
    public DmaAddr Map(in ReplayCall c)
    {
        Tick(c);
        var d = D(c);
        ChoosePath(d, c, isAlloc: false);
        _maps++;
        switch (d.Path)
        {
            case DmaPath.Iommu:
            {
                EnsureDomain(d);
                var dom = d.Domain!;
                InferFlushBefore(d, c, default, default, c.TraceDmaAddr.Value);
                SteerToTrace(d, c.TraceDmaAddr.Value);
                long hits = dom.Iovad.Stats.RcacheHits;
                // iommu_dma_map_phys(): an untrusted device would bounce sub-granule buffers; trusted ones map.
                var r = dom.MapPage(d.Master!, c.Phys, c.Size, d.Device.DmaMask, Cpu(c.Cpu));
                Steered(d);
                ExplainAlloc(c, d, r.Value, hits);
                if (r.IsError) { _failures++; return r; }
                MappedIova(d, r.Value, c.Size);
                return r;
            }
            case DmaPath.Swiotlb when c.Bounced || _opt.Policy == ReplayPolicy.SwiotlbForce:
                return TakeBounce(d, c, c.Phys, c.Size);
            default:
                return new DmaAddr(unchecked(c.Phys + (ulong)d.Offset));
        }
    }

    void MappedIova(Dev d, ulong dma, ulong size)
    {
        ulong g = d.Domain!.Granule;
        ulong off = dma & (g - 1);
        ulong len = (size + off + g - 1) & ~(g - 1);
        _pteMapped += (long)(len / g);
        _iotlb.Touch(d.DomainId, dma - off, len);
    }

    void UnmappedIova(Dev d, ulong iova, ulong len)
    {
        _pteUnmapped += (long)(len / d.Domain!.Granule);
        if (d.Domain.Fq is null)
        {
            // Strict: __iommu_dma_unmap() syncs the gathered range at once.
            _invalidations++;
            _iotlb.InvalidateRange(d.DomainId, iova, len);
        }
    }

    public void Unmap(in ReplayCall c)
    {
        Tick(c);
        var d = D(c);
        _unmaps++;
        var dma = c.ModelDmaAddr;
        if (dma.IsError) return;
        switch (d.Path)
        {
            case DmaPath.Iommu when d.Domain is not null:
            {
                bool armed = TimerArmed(d, Cpu(c.Cpu));
                var (iova, len) = d.Domain.Unmap(dma, c.Size, Cpu(c.Cpu));
                NoteArm(d, armed);
                ExplainFree(c, d, iova, len);
                UnmappedIova(d, iova, len);
                break;
            }
            case DmaPath.Swiotlb when _pool is not null:
                _pool.TblUnmapSingle(d.Device, new Mm.PhysAddr(dma.Value), c.Size, c.Dir, c.Attrs);
                break;
        }
    }

    public int MapSg(in ReplayCall c, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> traceLengths, Span<ulong> dmaAddrs, Span<ulong> dmaLengths)
    {
        Tick(c);
        var d = D(c);
        ChoosePath(d, c, isAlloc: false);
        LearnMaxSeg(d, traceLengths);
        _maps++;
        int n = Math.Min(phys.Length, dmaAddrs.Length);
        switch (d.Path)
        {
            case DmaPath.Iommu:
                return MapSgIommu(d, c, phys, traceLengths, dmaAddrs, dmaLengths);
            case DmaPath.Swiotlb when c.Bounced || _opt.Policy == ReplayPolicy.SwiotlbForce:
            {
                // dma_direct_map_sg(): every entry through dma_direct_map_phys(), i.e. its own bounce.
                EnsurePool(c);
                ApplyMinAlignEvidence(d);
                var slots = new ulong[2 * n];
                int i = 0;
                for (; i < n && i < traceLengths.Length; i++)
                {
                    var r = TakeBounce(d, c, phys[i], traceLengths[i]);
                    if (r.IsError)
                    {
                        for (int k = 0; k < i; k++)
                            _pool!.TblUnmapSingle(d.Device, new Mm.PhysAddr(slots[2 * k]), slots[2 * k + 1], c.Dir, c.Attrs | DmaAttrs.SkipCpuSync);
                        _failures++;
                        return 0;
                    }
                    slots[2 * i] = r.Value;
                    slots[2 * i + 1] = traceLengths[i];
                    dmaAddrs[i] = r.Value;
                    dmaLengths[i] = traceLengths[i];
                }
                if (i > 0) _sgBounce[(d.Id, dmaAddrs[0])] = slots;
                return c.FullNents > 0 ? c.FullNents : i;
            }
            default:
                for (int i = 0; i < n; i++)
                {
                    dmaAddrs[i] = unchecked(phys[i] + (ulong)d.Offset);
                    dmaLengths[i] = i < traceLengths.Length ? traceLengths[i] : 0;
                }
                return c.FullNents > 0 ? c.FullNents : phys.Length;
        }
    }

    /// <summary>
    /// iommu_dma_map_sg(). Segment lengths are not traced, only the DMA segments after merging. When nothing was
    /// merged (ents == nents) each input is its DMA segment. When the kernel merged entries the trace does not say
    /// where each input ended; the model maps the merged runs as the inputs (one per DMA segment, starting at the
    /// listed input whose page offset it carries), which needs the same IOVA length (every merged input but the last
    /// fills its granules) and merges no further unless the device's limits allow it.
    /// </summary>
    int MapSgIommu(Dev d, in ReplayCall c, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> lens, Span<ulong> dmaAddrs, Span<ulong> dmaLengths)
    {
        EnsureDomain(d);
        var dom = d.Domain!;
        ulong traced = _traceSgDmaCount > 0 ? _traceSgDmaBuf[0] : ulong.MaxValue;
        InferFlushBefore(d, c, phys, lens, traced);
        int nIn = SgInputs(dom, phys, lens);
        if (nIn == 0) { _failures++; return 0; }
        int cpu = Cpu(c.Cpu);
        long hits = dom.Iovad.Stats.RcacheHits;
        SteerToTrace(d, traced);
        int ents = dom.MapSg(d.Master!, _sgIn.AsSpan(0, nIn), _sgOut, cpu);
        Steered(d);
        ExplainAlloc(c, d, ents > 0 ? _sgOut[0].DmaAddress : ulong.MaxValue, hits);
        if (ents <= 0) { _failures++; return 0; }
        ulong start = _sgOut[0].DmaAddress, end = _sgOut[ents - 1].DmaAddress + _sgOut[ents - 1].DmaLength;
        for (int i = 0; i < ents && i < dmaAddrs.Length; i++)
        {
            dmaAddrs[i] = _sgOut[i].DmaAddress;
            dmaLengths[i] = _sgOut[i].DmaLength;
        }
        _sgIommu[(d.Id, start)] = (start, end - start);
        MappedIova(d, start, end - start);
        return ents;
    }

    /// <summary>The scatterlist the driver passed, rebuilt into <c>_sgIn</c> (see <see cref="MapSgIommu"/>); its length.</summary>
    int SgInputs(IommuDmaIovaAllocator dom, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> lens)
    {
        // One input segment per listed entry at most (an unmap or a foreign caller may list more than the 128 a
        // dma_map_sg event holds).
        if (_sgIn.Length < phys.Length) { _sgIn = new SgSegment[phys.Length]; _sgOut = new SgDmaSegment[phys.Length]; }
        if (lens.Length == phys.Length)
        {
            for (int i = 0; i < phys.Length; i++) _sgIn[i] = new SgSegment(phys[i], (uint)Math.Min(lens[i], uint.MaxValue));
            return phys.Length;
        }
        ulong gmask = dom.Granule - 1;
        var traceDma = _traceSgDma;
        int nIn = 0, k = 0;
        for (int j = 0; j < lens.Length && j < traceDma.Length; j++)
        {
            ulong off = traceDma[j] & gmask;
            while (k < phys.Length && (phys[k] & gmask) != off) k++;
            if (k >= phys.Length) break;
            _sgIn[nIn++] = new SgSegment(phys[k], (uint)Math.Min(lens[j], uint.MaxValue));
            k++;
        }
        return nIn;
    }

    public ulong Preview(in ReplayCall c, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> traceLengths)
    {
        if (c.DeviceId < 0 || c.DeviceId >= _byId.Count || _byId[c.DeviceId] is not { Path: DmaPath.Iommu, Domain: not null } d)
            return ulong.MaxValue;
        ulong iova = PreviewIova(d, c, phys, traceLengths, out _, out ulong offset, out _);
        return iova == 0 ? ulong.MaxValue : iova + offset;
    }

    /// <summary>The granule-aligned IOVA the call would get now (0 when the preview cannot tell), the IOVA bytes it
    /// allocates, the offset its first address carries and the DMA mask it allocates below.</summary>
    ulong PreviewIova(Dev d, in ReplayCall c, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> traceLengths, out ulong bytes, out ulong offset,
        out ulong dmaLimit)
    {
        var dom = d.Domain!;
        int cpu = Cpu(c.Cpu);
        bytes = offset = 0;
        dmaLimit = d.Device.DmaMask;
        switch (c.Kind)
        {
            case TraceEventKind.DmaMapPhys:
            case TraceEventKind.DmaMapResource:
                offset = dom.Iovad.IovaOffset(c.Phys);
                bytes = dom.Iovad.IovaAlign(c.Size + offset);
                return dom.PeekIova(d.Master!, bytes, dmaLimit, cpu);
            case TraceEventKind.DmaMapSg:
            {
                int n = SgInputs(dom, phys, traceLengths);
                if (n == 0) return 0;
                offset = dom.Iovad.IovaOffset(_sgIn[0].Phys);
                return dom.PeekSg(d.Master!, _sgIn.AsSpan(0, n), cpu, out bytes);
            }
            case TraceEventKind.DmaAlloc:
            case TraceEventKind.DmaAllocPages:
            case TraceEventKind.DmaAllocSgt:
                bytes = dom.Iovad.IovaAlign(c.Size);
                dmaLimit = d.Device.CoherentDmaMask;
                return dom.PeekIova(d.Master!, bytes, dmaLimit, cpu);
            default:
                return 0;
        }
    }

    /// <summary>How far the last map's or alloc's own answer lay from the kernel's range it took (0: its own).</summary>
    public long LastCorrection { get; private set; }

    /// <summary>Allocations that took the kernel's range because their own answer was refuted.</summary>
    long _corrections;
    ulong _steeredTo;

    /// <summary>
    /// Before an allocation in <paramref name="d"/>'s domain, replaying as traced: the allocator gets the kernel's IOVA
    /// (<see cref="IommuDmaIovaAllocator.Steer"/>), so that where its own answer is wrong and the kernel's range is
    /// free in the model it takes that one. One wrong order then costs the one address it decided, not every later
    /// address of its size class; the replayer still compares the model's own answer (<see cref="LastCorrection"/>).
    /// </summary>
    void SteerToTrace(Dev d, ulong traced)
    {
        LastCorrection = 0;
        _steeredTo = 0;
        if (!_opt.Resync || _opt.Policy != ReplayPolicy.AsTraced || traced == 0 || traced == ulong.MaxValue || d.Domain is not { IsMsiCookie: false } dom) return;
        dom.Steer = _steeredTo = traced >> dom.Shift << dom.Shift;
    }

    void Steered(Dev d)
    {
        var dom = d.Domain!;
        dom.Steer = 0;
        if (_steeredTo == 0 || dom.SteeredFrom == 0) return;
        LastCorrection = unchecked((long)(dom.SteeredFrom - _steeredTo));
        _corrections++;
    }

    /// <summary>Before an allocation in a lazy domain whose flushes are inferred: lets
    /// <see cref="FlushInstantInference"/> place a pending flush by what the allocation got.</summary>
    void InferFlushBefore(Dev d, in ReplayCall c, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> lens, ulong traced)
    {
        if (_fqInference is null || d.Domain?.Fq is not { } fq || traced == ulong.MaxValue) return;
        if (!fq.TimerArmed && fq.Rivals is not { Count: > 0 }) return;
        var dom = d.Domain;
        ulong without = PreviewIova(d, c, phys, lens, out ulong bytes, out _, out ulong limit);
        if (bytes == 0) return;
        ulong pages = bytes >> dom.Shift;
        int logSize = Iova.IovaMath.OrderBase2(Iova.IovaMath.RoundupPowOfTwo(pages));
        if (logSize >= Iova.IovaDomain.RangeCacheMaxSize) logSize = -1;
        if (fq.TimerArmed)
            _fqInference.BeforeAlloc(fq, _clock.NowNs, Cpu(c.Cpu), logSize, without >> dom.Shift, traced >> dom.Shift);
        // The rival placements of earlier flushes that this allocation refutes go; if it refutes the domain's own and
        // a rival gives the traced address, the domain takes that rival's state.
        if (fq.Rivals is { Count: > 0 } rivals && rivals.Reconcile(d.Master!, bytes, limit, Cpu(c.Cpu), traced >> dom.Shift << dom.Shift))
        {
            _fqInference.Adopted(fq);
            if (Explaining(c)) _say!($"the allocations refuted the flush placement the domain had; it took a rival's: {rivals.LastAdopted} (inferred)");
        }
        else if (without >> dom.Shift != traced >> dom.Shift && fq.TimerArmed
                 && PreviewIova(d, c, phys, lens, out _, out _, out _) is ulong now && now >> dom.Shift != traced >> dom.Shift)
            _fqInference.AfterAlloc(fq, _clock.NowNs, Cpu(c.Cpu), logSize, now >> dom.Shift, traced >> dom.Shift);
    }

    // The trace's DMA segment addresses of the current dma_map_sg (set by the replayer before MapSg) are used only to
    // tell which listed input starts each merged run (its page offset), never as an address.
    ReadOnlySpan<ulong> _traceSgDma => _traceSgDmaBuf.AsSpan(0, _traceSgDmaCount);
    readonly ulong[] _traceSgDmaBuf = new ulong[TraceRecord.TraceMaxEntries];
    int _traceSgDmaCount;

    /// <summary>The replayer hands the traced DMA segment list of the next dma_map_sg (offsets only are used).</summary>
    public void SetTracedSgSegments(ReadOnlySpan<ulong> dmaAddrs)
    {
        int n = Math.Min(dmaAddrs.Length, _traceSgDmaBuf.Length);
        dmaAddrs[..n].CopyTo(_traceSgDmaBuf);
        _traceSgDmaCount = n;
    }

    public void UnmapSg(in ReplayCall c, ReadOnlySpan<ulong> phys)
    {
        Tick(c);
        var d = D(c);
        _unmaps++;
        ulong first = c.ModelDmaAddr.Value;
        if (c.ModelDmaAddr.IsError) return;
        if (d.Path == DmaPath.Iommu && d.Domain is not null && _sgIommu.Remove((d.Id, first), out var r))
        {
            bool armed = TimerArmed(d, Cpu(c.Cpu));
            var (iova, len) = d.Domain.Unmap(new DmaAddr(r.Start), r.Length, Cpu(c.Cpu));
            NoteArm(d, armed);
            ExplainFree(c, d, iova, len);
            UnmappedIova(d, iova, len);
        }
        else if (_pool is not null && _sgBounce.Remove((d.Id, first), out var slots))
        {
            for (int i = 0; i + 1 < slots.Length; i += 2)
                if (slots[i + 1] != 0 || slots[i] != 0)
                    _pool.TblUnmapSingle(d.Device, new Mm.PhysAddr(slots[i]), slots[i + 1], c.Dir, c.Attrs);
        }
    }

    public DmaAddr Alloc(in ReplayCall c, out bool comparable)
    {
        Tick(c);
        var d = D(c);
        ChoosePath(d, c, isAlloc: true);
        if (d.Path == DmaPath.Iommu)
        {
            EnsureDomain(d);
            comparable = true;
            InferFlushBefore(d, c, default, default, c.TraceDmaAddr.Value);
            SteerToTrace(d, c.TraceDmaAddr.Value);
            long hits = d.Domain!.Iovad.Stats.RcacheHits;
            var r = d.Domain!.AllocCoherent(d.Master!, c.Size, Cpu(c.Cpu));
            Steered(d);
            ExplainAlloc(c, d, r.Value, hits);
            if (r.IsError) _failures++;
            else MappedIova(d, r.Value, c.Size);
            return r;
        }
        // dma-direct (and swiotlb devices: dma_direct_alloc) hands out a page the event does not show.
        comparable = false;
        return c.TraceDmaAddr;
    }

    public void Free(in ReplayCall c)
    {
        Tick(c);
        var d = D(c);
        if (d.Path != DmaPath.Iommu || d.Domain is null || c.ModelDmaAddr.IsError) return;
        bool armed = TimerArmed(d, Cpu(c.Cpu));
        var (iova, len) = d.Domain.Unmap(c.ModelDmaAddr, c.Size, Cpu(c.Cpu));
        NoteArm(d, armed);
        ExplainFree(c, d, iova, len);
        UnmappedIova(d, iova, len);
    }

    public void Sync(in ReplayCall c)
    {
        Tick(c);
        var d = D(c);
        if (d.Path != DmaPath.Swiotlb || _pool is null || c.ModelDmaAddr.IsError) return;
        var tlb = new Mm.PhysAddr(c.ModelDmaAddr.Value);
        if (c.Kind is TraceEventKind.DmaSyncSingleForCpu or TraceEventKind.DmaSyncSgForCpu)
            _pool.SyncSingleForCpu(d.Device, tlb, c.Size, c.Dir);
        else
            _pool.SyncSingleForDevice(d.Device, tlb, c.Size, c.Dir);
    }

    public ulong LayerMap(string device, ulong paddr, ulong size, int cpu, ulong traceIova)
    {
        _sawLayerMap = true;
        if (_opt.Policy is ReplayPolicy.Passthrough or ReplayPolicy.SwiotlbForce) return 0;
        var d = DevFor(device);
        if (d.Path is DmaPath.Unknown or DmaPath.DirectTentative)
        {
            d.Path = DmaPath.Iommu;
            _paths["iommu-dma"] = _paths.GetValueOrDefault("iommu-dma") + 1;
        }
        if (d.Path != DmaPath.Iommu) return 0;
        EnsureDomain(d);
        // iommu_dma_get_msi_page(): one granule per doorbell page, the first time the domain needs it.
        ulong iova = d.Domain!.GetMsiPage(d.Master!, paddr, Cpu(cpu));
        if (iova != 0) _pteMapped++;
        return iova;
    }
}
