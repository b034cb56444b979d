using DmaLab.Dma;
using DmaLab.Trace;

namespace DmaLab.Replay;

public sealed partial class TraceReplayer
{
    void OnMapSingle(TraceRecord r)
    {
        var d = Device(r);
        var p = Proc(r);
        ulong ns = r.TimestampNs, dma = r.DmaAddr, phys = r.PhysAddr, size = r.Size;

        if (dma == ulong.MaxValue)
        {
            // DMA_MAPPING_ERROR: the kernel refused the mapping; nothing becomes live.
            d.MapErrors++; p.MapErrors++;
            return;
        }
        bool bounced = d.PendingBounce && d.PendingBouncePhys == phys && d.PendingBounceSize == size;
        d.PendingBounce = false;
        if (bounced)
        {
            d.BouncedMaps++;
            if (d.SwiotlbSlotsLow < 0 || (long)dma < d.SwiotlbSlotsLow) d.SwiotlbSlotsLow = (long)dma;
            if ((long)dma > d.SwiotlbSlotsHigh) d.SwiotlbSlotsHigh = (long)dma;
        }
        else ClassifyAddress(d, dma, phys);
        if (dma + size > d.MaxDmaAddrEnd) d.MaxDmaAddrEnd = dma + size;

        ulong modelDma = dma;
        if (_model is not null)
        {
            var got = _model.Map(Call(r, d.Id, phys, size, bounced: bounced));
            modelDma = got.Value;
            ulong own = Own(got.Value);
            CountCompared(r, d.Id, own == dma);
            if (own != dma) Mismatch(r, dma, own);
        }
        PairIommu(r, d, dma, size);
        if (!bounced && dma != phys && !d.IovaOverlapsOtherDevice && _table.OtherDeviceHas(ReplayTable.Single, dma, d.Id, _devices.Count))
            d.IovaOverlapsOtherDevice = true;

        bool tracked = TrackCacheline(r, d.Name, phys, out ulong cln);
        _table.Add(new MapKey(ReplayTable.Single, d.Id, dma), new LiveMapping
        {
            InView = _inView,
            TraceDma = dma, ModelDma = modelDma, Phys = phys, Size = size, StartNs = ns, Line = r.Line,
            Device = d.Id, Process = _lastProcess, Lane = TakeLane(d.Id), Dir = r.Dir, Site = _sites.OnMap(r.Stack, d.Name, size),
            CachelineTracked = tracked, Cacheline = cln, Table = ReplayTable.Single,
        });
        d.OnMap(ns, size, sg: false);
        ObserveLive(d, ns);
        p.OnMap(ns, size, sg: false);
        PhaseMap(size);
    }

    /// <summary>The model's own answer for an address it mapped in the last call (<see cref="IReplayModel.LastCorrection"/>).</summary>
    ulong Own(ulong mapped) => _model is { LastCorrection: var c and not 0 } && mapped != ulong.MaxValue ? unchecked(mapped + (ulong)c) : mapped;

    void ClassifyAddress(ReplayDeviceStats d, ulong dma, ulong phys)
    {
        if (dma == phys) { d.IdentityMaps++; d.OffsetVaries = d.OffsetVaries || d.ConstantOffset is not null; return; }
        d.TranslatedMaps++;
        long off = (long)(dma - phys);
        if (d.OffsetVaries) return;
        if (d.ConstantOffset is null && d.IdentityMaps == 0) d.ConstantOffset = off;
        else if (d.ConstantOffset != off) { d.OffsetVaries = true; d.ConstantOffset = null; }
    }

    void OnUnmapSingle(TraceRecord r)
    {
        var d = Device(r);
        var p = Proc(r);
        ulong ns = r.TimestampNs, dma = r.DmaAddr;
        var key = new MapKey(ReplayTable.Single, d.Id, dma);

        // Prefer an entry of the same size and direction (a buffer mapped twice at once), else the newest.
        int best = -1, bestPrev = -1, prev = -1;
        for (int i = _table.Head(key); i >= 0; prev = i, i = _table.NextOf(i))
        {
            ref var e = ref _table[i];
            if (best < 0) { best = i; bestPrev = prev; }
            if (e.Size == r.Size && e.Dir == r.Dir) { best = i; bestPrev = prev; break; }
        }
        UnpairIommu(r, d);
        if (best < 0)
        {
            d.UnmatchedUnmaps++;
            d.OnUnmap(ns, 0, sg: false, matched: false);
            p.OnUnmap(ns, 0, sg: false, matched: false);
            PhaseUnmap(false);
            AddFinding("unmap-of-unmapped", r, d.Name, dma,
                $"{r.EventName} of dma_addr 0x{dma:x} size {r.Size} that is not mapped (dma-debug: freeing DMA memory it has not allocated)");
            return;
        }
        var m = _table[best];
        if (m.Size != r.Size)
            AddFinding("unmap-size-mismatch", r, d.Name, dma, $"mapped with size {m.Size} at line {m.Line}, unmapped with size {r.Size}");
        if (m.Dir != r.Dir)
            AddFinding("unmap-direction-mismatch", r, d.Name, dma, $"mapped {m.Dir} at line {m.Line}, unmapped {r.Dir}");
        _model?.Unmap(Call(r, d.Id, m.Phys, r.Size, m.ModelDma));
        Close(key, best, bestPrev, ns, ReplayLifetimeKind.Single);
        d.OnUnmap(ns, m.Size, sg: false, matched: true);
        ObserveLive(d, ns);
        _processes[m.Process < 0 ? _lastProcess : m.Process].LiveMappingsDec(ns, m.Size);
        p.Unmaps++;
        PhaseUnmap(true);
    }

    void Close(in MapKey key, int index, int prev, ulong ns, ReplayLifetimeKind kind)
    {
        ref var m = ref _table[index];
        if (m.CachelineTracked) UntrackCacheline(m.Cacheline);
        _sites.OnEnd(m.Site, m.Size);
        if (m.Table != ReplayTable.Coherent) _lifetimes.Completed(m.Device, m.Table, m.Size, ns - m.StartNs);
        if (_observer is not null)
        {
            _observer.OnLifetime(m.Device, m.Lane, kind, m.StartNs, ns, m.TraceDma, m.Phys, m.Size, m.Line, liveAtEnd: false, m.Dir);
            ReleaseLane(m.Device, m.Lane);
        }
        _table.Remove(key, index, prev);
    }

    static ulong HashList(ReadOnlySpan<ulong> list, int count)
    {
        ulong h = 0xcbf29ce484222325UL ^ (ulong)count;
        for (int i = 0; i < count && i < list.Length; i++) h = (h ^ list[i]) * 0x100000001b3UL;
        return h;
    }

    void OnMapSg(TraceRecord r)
    {
        var d = Device(r);
        var p = Proc(r);
        ulong ns = r.TimestampNs;
        var phys = r.PhysAddrs;
        if (phys.IsEmpty) return;
        var dmaList = r.DmaAddrs;
        var lens = r.Lengths;
        ulong bytes = 0;
        foreach (ulong l in lens) bytes = ReplayCounters.Saturating(bytes, l);
        int fullEnts = r.FullEnts > 0 ? r.FullEnts : dmaList.Length;
        if (fullEnts == 0) { d.MapErrors++; p.MapErrors++; return; }

        // Entry-wise view of the path: dma-direct keeps every entry at its physical address.
        int nents = r.FullNents > 0 ? r.FullNents : phys.Length;
        if (fullEnts == nents && dmaList.Length == phys.Length)
        {
            bool identity = true;
            for (int i = 0; i < phys.Length; i++) if (dmaList[i] != phys[i]) { identity = false; break; }
            if (identity) d.IdentityMaps++;
            else if (d.PendingBounce) d.BouncedMaps++;
            else d.TranslatedMaps++;
        }
        else d.TranslatedMaps++; // entries merged: only an IOMMU does that
        bool sgBounced = d.PendingBounce;
        d.PendingBounce = false;
        for (int i = 0; i < dmaList.Length && i < lens.Length; i++)
            if (dmaList[i] + lens[i] > d.MaxDmaAddrEnd) d.MaxDmaAddrEnd = dmaList[i] + lens[i];

        ulong firstDma = dmaList.IsEmpty ? 0 : dmaList[0];
        ulong modelFirst = firstDma;
        if (_model is not null)
        {
            var call = Call(r, d.Id, phys[0], bytes, bounced: sgBounced);
            if (_model is ITracedSgSegments hint) hint.SetTracedSgSegments(dmaList);
            int ents = _model.MapSg(call, phys, lens, _sgDma, _sgLen);
            int n = Math.Min(dmaList.Length, Math.Min(ents, _sgDma.Length));
            bool all = ents == fullEnts;
            for (int i = 0; i < dmaList.Length; i++)
            {
                _fidelity.ComparedSgEntries++;
                ulong own = i < n ? Own(_sgDma[i]) : ulong.MaxValue;
                if (i < n && own == dmaList[i]) _fidelity.MatchedSgEntries++;
                else if (all) { all = false; Mismatch(r, dmaList[i], own); }
            }
            if (ents != fullEnts && all) Mismatch(r, (ulong)fullEnts, (ulong)ents);
            CountCompared(r, d.Id, all);
            modelFirst = ents > 0 ? _sgDma[0] : ulong.MaxValue;
        }
        PairIommu(r, d, firstDma, bytes);

        // dma-debug makes one entry per sg element, each tracking its first cacheline.
        bool tracked = TrackCacheline(r, d.Name, phys[0], out ulong cln);
        if (tracked) for (int i = 1; i < phys.Length; i++) TrackCacheline(r, d.Name, phys[i], out _);
        _table.Add(new MapKey(ReplayTable.Sg, d.Id, phys[0]), new LiveMapping
        {
            InView = _inView,
            TraceDma = firstDma, ModelDma = modelFirst, Phys = phys[0], Size = bytes, StartNs = ns, Line = r.Line,
            SgHash = HashList(phys, phys.Length), SgListed = phys.Length, SgNents = nents,
            Device = d.Id, Process = _lastProcess, Lane = TakeLane(d.Id), Dir = r.Dir, Site = _sites.OnMap(r.Stack, d.Name, bytes),
            CachelineTracked = tracked, Cacheline = cln, Table = ReplayTable.Sg,
        });
        d.OnMap(ns, bytes, sg: true);
        ObserveLive(d, ns);
        p.OnMap(ns, bytes, sg: true);
        PhaseMap(bytes);
    }

    void OnUnmapSg(TraceRecord r)
    {
        var d = Device(r);
        var p = Proc(r);
        ulong ns = r.TimestampNs;
        var phys = r.PhysAddrs;
        if (phys.IsEmpty) return;
        var key = new MapKey(ReplayTable.Sg, d.Id, phys[0]);

        // Same list (count and listed prefix) first; else any live list starting at the same address. A list the
        // replay mapped ahead of this unmap but whose dma_map_sg is traced after it (an allocation run before an
        // interrupt it was traced after) is not the one unmapped while another is live: the driver had not received it.
        var (best, bestPrev) = FindSg(key, phys, r.Line);
        if (best < 0) (best, bestPrev) = FindSg(key, phys, long.MaxValue);
        UnpairIommu(r, d);
        if (best < 0)
        {
            d.UnmatchedUnmaps++;
            d.OnUnmap(ns, 0, sg: true, matched: false);
            p.OnUnmap(ns, 0, sg: true, matched: false);
            PhaseUnmap(false);
            AddFinding("unmap-of-unmapped", r, d.Name, phys[0],
                $"dma_unmap_sg of a {phys.Length}-entry list starting at phys 0x{phys[0]:x} that is not mapped");
            return;
        }
        var m = _table[best];
        if (m.Dir != r.Dir)
            AddFinding("unmap-direction-mismatch", r, d.Name, phys[0], $"sg list mapped {m.Dir} at line {m.Line}, unmapped {r.Dir}");
        _model?.UnmapSg(Call(r, d.Id, m.Phys, m.Size, m.ModelDma), phys);
        if (m.CachelineTracked)
            for (int i = 1; i < phys.Length && i < m.SgListed; i++) UntrackCacheline(phys[i] >> _cachelineShift);
        Close(key, best, bestPrev, ns, ReplayLifetimeKind.Sg);
        d.OnUnmap(ns, m.Size, sg: true, matched: true);
        ObserveLive(d, ns);
        _processes[m.Process < 0 ? _lastProcess : m.Process].LiveMappingsDec(ns, m.Size);
        p.Unmaps++;
        p.SgUnmaps++;
        PhaseUnmap(true);
    }

    /// <summary>The live list an unmap of <paramref name="phys"/> closes among those mapped at or before
    /// <paramref name="line"/> (see <see cref="OnUnmapSg"/>), and its predecessor in the key's chain; -1 when none.</summary>
    (int Index, int Prev) FindSg(MapKey key, ReadOnlySpan<ulong> phys, long line)
    {
        int prev = -1, fallback = -1, fallbackPrev = -1;
        for (int i = _table.Head(key); i >= 0; prev = i, i = _table.NextOf(i))
        {
            ref var e = ref _table[i];
            if (e.Line > line) continue;
            if (fallback < 0) { fallback = i; fallbackPrev = prev; }
            bool sameCount = e.SgNents == phys.Length || phys.Length < e.SgNents && phys.Length >= e.SgListed;
            if (sameCount && phys.Length >= e.SgListed && HashList(phys, e.SgListed) == e.SgHash) return (i, prev);
        }
        return (fallback, fallbackPrev);
    }

    void OnAlloc(TraceRecord r)
    {
        var d = Device(r);
        var p = Proc(r);
        ulong ns = r.TimestampNs, dma = r.DmaAddr;
        if (dma == 0 && r.Kind != TraceEventKind.DmaAllocSgt)
        {
            // The event records dma_addr 0 when the allocation failed (virt_addr NULL).
            d.MapErrors++; p.MapErrors++;
            AddFinding("alloc-error", r, d.Name, 0, $"{r.EventName} of {r.Size} bytes failed");
            return;
        }
        d.Allocs++; p.Allocs++;
        d.AllocBytes = ReplayCounters.Saturating(d.AllocBytes, r.Size); p.AllocBytes = ReplayCounters.Saturating(p.AllocBytes, r.Size);
        d.LiveAllocs++; d.LiveAllocBytes += (long)r.Size;
        if (_phase is { } ph) ph.Allocs++;
        ulong modelDma = dma;
        if (_model is not null)
        {
            var got = _model.Alloc(Call(r, d.Id, 0, r.Size), out bool comparable);
            modelDma = got.Value;
            if (!comparable) _fidelity.NotComparable++;
            else
            {
                ulong own = Own(got.Value);
                CountCompared(r, d.Id, own == dma);
                if (own != dma) Mismatch(r, dma, own);
            }
        }
        bool paired = PairIommu(r, d, dma, r.Size);
        if (paired && !d.IovaOverlapsOtherDevice && _table.OtherDeviceHas(ReplayTable.Coherent, dma, d.Id, _devices.Count))
            d.IovaOverlapsOtherDevice = true;
        _table.Add(new MapKey(ReplayTable.Coherent, d.Id, dma), new LiveMapping
        {
            InView = _inView,
            TraceDma = dma, ModelDma = modelDma, Size = r.Size, StartNs = ns, Line = r.Line, Device = d.Id,
            Process = _lastProcess, Lane = TakeLane(d.Id), Dir = r.Dir, Table = ReplayTable.Coherent, Site = _sites.OnMap(r.Stack, d.Name, r.Size),
        });
    }

    void OnFree(TraceRecord r)
    {
        var d = Device(r);
        var p = Proc(r);
        ulong dma = r.DmaAddr;
        var key = new MapKey(ReplayTable.Coherent, d.Id, dma);
        int best = -1, bestPrev = -1, prev = -1;
        for (int i = _table.Head(key); i >= 0; prev = i, i = _table.NextOf(i))
        {
            if (best < 0) { best = i; bestPrev = prev; }
            if (_table[i].Size == r.Size) { best = i; bestPrev = prev; break; }
        }
        UnpairIommu(r, d);
        d.Frees++; p.Frees++;
        if (_phase is { } ph) ph.Frees++;
        if (best < 0)
        {
            AddFinding("free-of-unallocated", r, d.Name, dma,
                $"{r.EventName} of dma_addr 0x{dma:x} size {r.Size} that is not allocated");
            return;
        }
        var m = _table[best];
        if (m.Size != r.Size)
            AddFinding("free-size-mismatch", r, d.Name, dma, $"allocated {m.Size} bytes at line {m.Line}, freed {r.Size}");
        _model?.Free(Call(r, d.Id, 0, r.Size, m.ModelDma));
        Close(key, best, bestPrev, r.TimestampNs, ReplayLifetimeKind.Coherent);
        d.LiveAllocs--; d.LiveAllocBytes -= (long)m.Size;
    }

    void OnSync(TraceRecord r)
    {
        var d = Device(r);
        var p = Proc(r);
        d.Syncs++; p.Syncs++;
        if (_model is null) return;
        ulong dma = r.Kind is TraceEventKind.DmaSyncSingleForCpu or TraceEventKind.DmaSyncSingleForDevice
            ? r.DmaAddr : (r.DmaAddrs.IsEmpty ? 0 : r.DmaAddrs[0]);
        int h = _table.Head(new MapKey(ReplayTable.Single, d.Id, dma));
        ulong model = h >= 0 ? _table[h].ModelDma : dma;
        _model.Sync(Call(r, d.Id, 0, r.Size, model));
    }

    void OnBounced(TraceRecord r)
    {
        var d = Device(r);
        d.SwiotlbBounces++;
        if (r.Forced) d.SwiotlbForced = true;
        if (r.DmaMask != 0) d.DmaMask = r.DmaMask;
        d.PendingBounce = true;
        d.PendingBouncePhys = r.PhysAddr;
        d.PendingBounceSize = r.Size;
        _model?.Bounced(Call(r, d.Id, r.PhysAddr, r.Size, bounced: true));
    }
}
