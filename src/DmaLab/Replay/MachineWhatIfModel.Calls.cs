using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Trace;

namespace DmaLab.Replay;

public sealed partial class MachineWhatIfModel
{
    // Live scatterlists and coherent allocations, keyed by (trace device id, the what-if's first dma address).
    readonly Dictionary<(int Dev, ulong Dma), (Scatterlist Sg, int Nents)> _sgLive = new();
    readonly Stack<Scatterlist> _sgFree = new();
    readonly Dictionary<(int Dev, ulong Dma), (ulong Cpu, bool Pages, ulong Size)> _allocs = new();
    long _maps, _unmaps, _failures, _bounces, _pteGranules, _pteUnmapped, _touches, _touchFaults, _beyondDram;
    ulong _bouncedMappingBytes, _apiNs, _deviceNs;

    /// <summary>Virtual time up to the call's timestamp; the machine's own charges push it further.</summary>
    ulong Begin(in ReplayCall c)
    {
        var clock = _m!.Clock;
        clock.AdvanceTo(c.TimestampNs);
        return clock.NowNs;
    }

    void EndApi(ulong start) => _apiNs += _m!.Clock.NowNs - start;

    /// <summary>
    /// A call larger than the RAM the what-if kernel manages (or than <see cref="MaxCallBytes"/>) is not run: no
    /// kernel could back it, and its page tables and device accesses would cost host memory and time in proportion
    /// to the traced size. It is counted (<see cref="ReplayModelStats.CallsBeyondDram"/>), noted once, and a map
    /// fails as the kernel's would (DMA_MAPPING_ERROR).
    /// </summary>
    bool BeyondDram(in ReplayCall c, ulong size)
    {
        var m = Boot();
        ulong ram = (ulong)m.Memory.PageAllocator.ManagedPages * Mm.PhysAddr.PageSize;
        ulong limit = Math.Min(ram, MaxCallBytes);
        if (size <= limit) return false;
        if (_beyondDram++ == 0)
            _notes.Add($"line {c.Line}: {Trace.TraceEventNames.DefaultName(c.Kind)} of {size} bytes is larger than the what-if machine's {limit >> 20} MiB of managed RAM and was not run (counted as callsBeyondDram)");
        return true;
    }

    /// <summary>Largest single call the what-if machine runs (see <see cref="BeyondDram"/>): 16 GiB.</summary>
    public const ulong MaxCallBytes = 16UL << 30;

    public DmaAddr Map(in ReplayCall c)
    {
        var d = D(c);
        if (BeyondDram(c, c.Size)) { _maps++; _failures++; return DmaAddr.MappingError; }
        ulong t0 = Begin(c);
        var api = _m!.Dma;
        var phys = new PhysAddr(c.Phys);
        var dma = c.Kind == TraceEventKind.DmaMapResource
            ? api.MapResource(Cpu(c.Cpu), d.Device, phys, c.Size, c.Dir, c.Attrs)
            : api.MapPage(Cpu(c.Cpu), d.Device, phys, c.Size, c.Dir, c.Attrs);
        EndApi(t0);
        _maps++;
        if (dma.IsError) { _failures++; return dma; }
        Mapped(d, dma.Value, c.Size);
        Touch(d, dma.Value, c.Size, c.Dir);
        return dma;
    }

    void Mapped(Dev d, ulong dma, ulong size)
    {
        if (d.Translated)
        {
            ulong g = d.Granule, off = dma & (g - 1);
            _pteGranules += (long)((size + off + g - 1) / g);
        }
        else if (_m!.DmaSystem.Swiotlb is { } pool && pool.IsSwiotlbBuffer(new PhysAddr(dma)))
        {
            _bounces++;
            _bouncedMappingBytes += size;
        }
    }

    void Unmapped(Dev d, ulong dma, ulong size)
    {
        if (!d.Translated || size == 0) return;
        ulong g = d.Granule, off = dma & (g - 1);
        _pteUnmapped += (long)((size + off + g - 1) / g);
    }

    public void Unmap(in ReplayCall c)
    {
        var d = D(c);
        _unmaps++;
        if (c.ModelDmaAddr.IsError || BeyondDram(c, c.Size)) return;
        ulong t0 = Begin(c);
        var api = _m!.Dma;
        if (c.Kind == TraceEventKind.DmaUnmapResource)
            api.UnmapResource(Cpu(c.Cpu), d.Device, c.ModelDmaAddr, c.Size, c.Dir, c.Attrs);
        else
            api.UnmapPage(Cpu(c.Cpu), d.Device, c.ModelDmaAddr, c.Size, c.Dir, c.Attrs);
        EndApi(t0);
        Unmapped(d, c.ModelDmaAddr.Value, c.Size);
    }

    /// <summary>
    /// dma_map_sg of the traced entries. Input segment lengths are not traced: when the kernel's DMA segments are as
    /// many as the entries they are the entries' lengths; when it merged, each entry but the last is taken to fill
    /// its page (what a merge requires) and the last gets the rest of the traced total. A list the trace truncated
    /// ([TRUNCATED]) maps the entries it lists.
    /// </summary>
    public int MapSg(in ReplayCall c, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> traceLengths, Span<ulong> dmaAddrs, Span<ulong> dmaLengths)
    {
        var d = D(c);
        int n = phys.Length;
        _maps++;
        ulong bytes = 0;
        foreach (ulong l in traceLengths) bytes = bytes + l < bytes ? ulong.MaxValue : bytes + l;
        if (n == 0 || BeyondDram(c, bytes)) { _failures++; return 0; }
        var sg = _sgFree.Count > 0 ? _sgFree.Pop() : new Scatterlist(TraceRecord.TraceMaxEntries);
        sg.Init(n);
        ulong max = 0;
        if (traceLengths.Length == n)
            for (int i = 0; i < n; i++) { sg.SetPhys(i, new PhysAddr(phys[i]), (uint)Math.Min(traceLengths[i], uint.MaxValue)); max = Math.Max(max, traceLengths[i]); }
        else
        {
            ulong total = 0;
            foreach (ulong l in traceLengths) { total = total + l < total ? ulong.MaxValue : total + l; max = Math.Max(max, l); }
            for (int i = 0; i < n; i++)
            {
                ulong fill = PhysAddr.PageSize - (phys[i] & (PhysAddr.PageSize - 1));
                ulong len = i < n - 1 ? Math.Min(fill, total > 1 ? total - 1 : 1) : Math.Max(total, 1);
                total = total > len ? total - len : 0;
                sg.SetPhys(i, new PhysAddr(phys[i]), (uint)Math.Min(len, uint.MaxValue));
            }
        }
        // dma_get_max_seg_size(): a longer DMA segment in the trace shows the driver raised it.
        if (max > d.Device.MaxSegmentSize) d.Device.MaxSegmentSize = uint.MaxValue;
        ulong t0 = Begin(c);
        int ents = _m!.Dma.MapSg(Cpu(c.Cpu), d.Device, sg, n, c.Dir, c.Attrs);
        EndApi(t0);
        if (ents <= 0) { _failures++; _sgFree.Push(sg); return 0; }
        for (int i = 0; i < ents; i++)
        {
            ref var e = ref sg[i];
            if (i < dmaAddrs.Length) { dmaAddrs[i] = e.DmaAddress.Value; dmaLengths[i] = e.DmaLength; }
            Mapped(d, e.DmaAddress.Value, e.DmaLength);
            Touch(d, e.DmaAddress.Value, e.DmaLength, c.Dir);
        }
        _sgLive[(c.DeviceId, sg[0].DmaAddress.Value)] = (sg, n);
        return ents;
    }

    public void UnmapSg(in ReplayCall c, ReadOnlySpan<ulong> phys)
    {
        var d = D(c);
        _unmaps++;
        if (c.ModelDmaAddr.IsError || !_sgLive.Remove((c.DeviceId, c.ModelDmaAddr.Value), out var live)) return;
        ulong t0 = Begin(c);
        _m!.Dma.UnmapSg(Cpu(c.Cpu), d.Device, live.Sg, live.Nents, c.Dir, c.Attrs);
        EndApi(t0);
        for (int i = 0; i < live.Sg.MappedNents && i < live.Nents; i++) Unmapped(d, live.Sg[i].DmaAddress.Value, live.Sg[i].DmaLength);
        _sgFree.Push(live.Sg);
    }

    public DmaAddr Alloc(in ReplayCall c, out bool comparable)
    {
        comparable = false;
        var d = D(c);
        if (BeyondDram(c, c.Size)) { _failures++; return DmaAddr.MappingError; }
        ulong t0 = Begin(c);
        DmaAddr handle;
        ulong cpuOrPage;
        bool pages = c.Kind == TraceEventKind.DmaAllocPages;
        if (pages)
        {
            var p = _m!.Dma.AllocPages(Cpu(c.Cpu), d.Device, c.Size, out handle, c.Dir, Gfp.Kernel);
            cpuOrPage = p?.Value ?? 0;
            if (p is null) handle = DmaAddr.MappingError;
        }
        else
        {
            var va = _m!.Dma.AllocAttrs(Cpu(c.Cpu), d.Device, c.Size, out handle, Gfp.Kernel, c.Attrs);
            cpuOrPage = va.Value;
            if (va.Value == 0) handle = DmaAddr.MappingError;
        }
        EndApi(t0);
        if (handle.IsError) { _failures++; return DmaAddr.MappingError; }
        if (d.Translated) _pteGranules += (long)((c.Size + d.Granule - 1) / d.Granule);
        _allocs[(c.DeviceId, handle.Value)] = (cpuOrPage, pages, c.Size);
        Touch(d, handle.Value, c.Size, DmaDirection.Bidirectional);
        return handle;
    }

    public void Free(in ReplayCall c)
    {
        var d = D(c);
        if (c.ModelDmaAddr.IsError || !_allocs.Remove((c.DeviceId, c.ModelDmaAddr.Value), out var a)) return;
        // The allocation is freed with the size it was made with: a traced free of another size is the traced
        // kernel's finding (free-size-mismatch), and freeing the wrong number of pages would corrupt the model.
        ulong size = a.Size;
        ulong t0 = Begin(c);
        if (a.Pages) _m!.Dma.FreePages(Cpu(c.Cpu), d.Device, size, new PhysAddr(a.Cpu), c.ModelDmaAddr, c.Dir);
        else _m!.Dma.FreeAttrs(Cpu(c.Cpu), d.Device, size, new CpuAddr(a.Cpu), c.ModelDmaAddr, c.Attrs);
        EndApi(t0);
        Unmapped(d, c.ModelDmaAddr.Value, size);
    }

    public void Sync(in ReplayCall c)
    {
        var d = D(c);
        if (c.ModelDmaAddr.IsError || BeyondDram(c, c.Size)) return;
        ulong t0 = Begin(c);
        bool forCpu = c.Kind is TraceEventKind.DmaSyncSingleForCpu or TraceEventKind.DmaSyncSgForCpu;
        if (forCpu) _m!.Dma.SyncSingleForCpu(Cpu(c.Cpu), d.Device, c.ModelDmaAddr, c.Size, c.Dir);
        else _m!.Dma.SyncSingleForDevice(Cpu(c.Cpu), d.Device, c.ModelDmaAddr, c.Size, c.Dir);
        EndApi(t0);
        // The buffer goes back to the device: it touches it again.
        if (!forCpu) Touch(d, c.ModelDmaAddr.Value, c.Size, c.Dir);
    }

    /// <summary>
    /// The device's accesses to a fresh mapping (see the type's remarks): per 4 KiB page, a read for TO_DEVICE, a
    /// write for FROM_DEVICE, both for BIDIRECTIONAL, through the device's translation (translate only).
    /// </summary>
    void Touch(Dev d, ulong dma, ulong size, DmaDirection dir)
    {
        bool read = dir is DmaDirection.ToDevice or DmaDirection.Bidirectional;
        bool write = dir is DmaDirection.FromDevice or DmaDirection.Bidirectional;
        if ((!read && !write) || size == 0) return;
        var t = d.Engine.Translation;
        var clock = _m!.Clock;
        ulong t0 = clock.NowNs;
        ulong a = dma, end = dma + size;
        if (end < a) end = ulong.MaxValue;
        while (a < end)
        {
            ulong len = Math.Min(end - a, PhysAddr.PageSize - (a & (PhysAddr.PageSize - 1)));
            if (read) Access(t, a, len, false);
            if (write) Access(t, a, len, true);
            a += len;
        }
        _deviceNs += clock.NowNs - t0;
    }

    void Access(IDeviceTranslation t, ulong a, ulong len, bool write)
    {
        _touches++;
        if (!t.TryTranslate(a, len, write, out _, out _)) _touchFaults++;
    }

    public ulong LayerMap(string device, ulong paddr, ulong size, int cpu, ulong traceIova) => 0;

    public void Bounced(in ReplayCall call) { }
}
