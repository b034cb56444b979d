using DmaLab.Devices;
using DmaLab.DmaIommu;
using DmaLab.Iova;
using DmaLab.Platform;
using DmaLab.Sim;
using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>
/// Replays a trace at the IOMMU layer, for kernels whose DMA API is not traced (before 6.12: only iommu:map,
/// iommu:unmap and swiotlb:*). iommu:map names no device, so each map is attributed to the DMA domain whose allocator
/// predicts its IOVA: every domain's allocator is deterministic (Linux: drivers/iommu/dma-iommu.c,
/// iommu_dma_alloc_iova(); drivers/iommu/iova.c, alloc_iova_fast()), so the candidate is the domain that would have
/// chosen that address now, or a fresh domain when its first IOVA fits. A call's map events are one allocation: an
/// sg list or a coherent buffer is traced as contiguous ascending map events of one task and CPU (__iommu_map() per
/// physically contiguous chunk), which a top-down allocator never produces from separate calls. A domain's state
/// advances only with the maps attributed to it; an unmap frees the IOVA in the domain that holds it live.
/// <see cref="Compared"/> counts every map event, <see cref="Matched"/> those whose allocation the model chose itself.
/// </summary>
public sealed class IommuLayerReplay
{
    sealed class Dom
    {
        public int Id;
        public required IommuDmaIovaAllocator Alloc;
        public required IommuDmaMaster Master;
        public readonly Dictionary<ulong, (ulong Size, long Seq)> Live = new();
        public readonly List<string> Devices = new();
        public long FirstLine, MapEvents, Allocations, Unmaps, Compared, Matched;
        public ulong BytesMapped, LiveBytes, PeakLiveBytes;
        public int LastPid = int.MinValue;
        public long LastSeq;
    }

    /// <summary>Options: the IOMMU family's geometry, PCI windows, CPUs, policy and the kernel's rcache rules.</summary>
    public sealed class Options
    {
        public ReplayIommuFamily Family { get; init; } = ReplayIommuFamily.IntelVtd;
        public IReadOnlyList<(ulong Start, ulong End, ulong Offset)> PciWindows { get; init; } = [];
        public bool Lazy { get; init; }
        /// <summary>The kernel version, when known (the log); null = before 6.12, assumed to have 6.1's rcache.</summary>
        public Version? Kernel { get; init; }
        public int Hz { get; init; } = 250;
        public int MaxMismatchesListed { get; init; } = 20;
    }

    readonly Options _opt;
    readonly SimClock _clock = new();
    readonly List<Dom> _domains = new();
    readonly Dictionary<int, string> _attachedByPid = new();
    readonly FlushCounter _flush = new();
    readonly int _depotLimit;
    Dom? _fresh;
    int _cpus = 1;
    long _seq, _mapEvents, _unmapEvents, _unmatchedUnmaps, _strictInvalidations;

    // The run of contiguous map events being collected.
    bool _run;
    ulong _runStart, _runEnd;
    int _runPid, _runCpu;
    long _runLine, _runEvents;

    public IommuLayerReplay(Options? options = null)
    {
        _opt = options ?? new Options();
        // drivers/iommu/iova.c: v6.7 replaced the fixed depot array (MAX_GLOBAL_MAGS = 32) by a list trimmed by work.
        _depotLimit = _opt.Kernel is { } v && (v.Major > 6 || v.Major == 6 && v.Minor >= 7) ? 0 : IovaDomain.MaxGlobalMags61;
    }

    /// <summary>Possible CPUs (per-CPU IOVA magazines); set before the first event.</summary>
    public int Cpus { get => _cpus; set => _cpus = Math.Max(1, value); }

    public long Compared { get; private set; }
    public long Matched { get; private set; }
    public List<FidelityMismatch> Mismatches { get; } = new();

    public void OnMap(TraceRecord r)
    {
        _clock.AdvanceTo(r.TimestampNs);
        _mapEvents++;
        if (_run && r.Pid == _runPid && r.Cpu == _runCpu && r.Iova == _runEnd)
        {
            _runEnd += r.Size;
            _runEvents++;
            return;
        }
        CloseRun();
        _run = true;
        _runStart = r.Iova;
        _runEnd = r.Iova + r.Size;
        _runPid = r.Pid;
        _runCpu = r.Cpu;
        _runLine = r.Line;
        _runEvents = 1;
    }

    public void OnUnmap(TraceRecord r)
    {
        _clock.AdvanceTo(r.TimestampNs);
        CloseRun();
        _unmapEvents++;
        Dom? best = null;
        long bestSeq = -1;
        bool bestSize = false;
        foreach (var d in _domains)
        {
            if (!d.Live.TryGetValue(r.Iova, out var m)) continue;
            bool sizeOk = m.Size == r.Size;
            // Prefer the mapping of the same size, then the one mapped last (the IOVA was reused most recently there).
            if (best is null || sizeOk && !bestSize || sizeOk == bestSize && m.Seq > bestSeq)
            {
                best = d;
                bestSeq = m.Seq;
                bestSize = sizeOk;
            }
        }
        if (best is null)
        {
            _unmatchedUnmaps++;
            return;
        }
        var live = best.Live[r.Iova];
        best.Live.Remove(r.Iova);
        best.LiveBytes -= live.Size;
        best.Unmaps++;
        best.Alloc.FreeIova(r.Iova, live.Size, Cpu(r.Cpu), queued: best.Alloc.Fq is not null);
        if (best.Alloc.Fq is null) _strictInvalidations++; // __iommu_dma_unmap(): iommu_iotlb_sync() at once
    }

    /// <summary>attach_device_to_domain / add_device_to_group: the device a task is setting up, for naming the domain
    /// its next first-IOVA map creates.</summary>
    public void OnAttach(TraceRecord r)
    {
        if (!string.IsNullOrEmpty(r.Device)) _attachedByPid[r.Pid] = r.Device;
    }

    int Cpu(int cpu) => cpu < 0 ? 0 : cpu % _cpus;

    Dom NewDomain(long line)
    {
        var f = _opt.Family;
        var alloc = new IommuDmaIovaAllocator(f.PgsizeBitmap, 0, f.ApertureBits >= 64 ? ulong.MaxValue : (1UL << f.ApertureBits) - 1,
            cpus: _cpus, clock: _clock, hz: _opt.Hz, depotLimit: _depotLimit);
        if (_opt.PciWindows.Count > 0) alloc.ReservePciWindows(_opt.PciWindows);
        foreach (var (start, len, hwMsi) in f.Reserved) alloc.ReserveRegion(start, len, hwMsi);
        if (_opt.Lazy) alloc.EnableFlushQueue(_flush, hz: _opt.Hz);
        // The device is unknown: a PCI function with a 64-bit mask, as the NVMe, NIC and virtio drivers set.
        var dev = new Device(new DeviceSpec { Name = "?", Bus = "pci", DmaMask = 64 });
        return new Dom { Alloc = alloc, Master = alloc.Attach(dev), FirstLine = line };
    }

    ulong Predict(Dom d, ulong size, int cpu) => d.Alloc.PeekIova(d.Master, size, ulong.MaxValue, cpu);

    void CloseRun()
    {
        if (!_run) return;
        _run = false;
        ulong size = _runEnd - _runStart;
        int cpu = Cpu(_runCpu);
        Compared += _runEvents;

        Dom? pick = null;
        foreach (var d in _domains)
        {
            if (Predict(d, size, cpu) != _runStart) continue;
            if (pick is null || Rank(d) > Rank(pick)) pick = d;
        }
        bool created = false;
        if (pick is null)
        {
            _fresh ??= NewDomain(0);
            if (Predict(_fresh, size, cpu) == _runStart || _domains.Count == 0)
            {
                pick = _fresh;
                _fresh = null;
                created = true;
            }
            else
            {
                // Nothing predicts it: the task's own domain, else the one used last, takes the kernel's choice.
                foreach (var d in _domains) if (pick is null || Rank(d) > Rank(pick)) pick = d;
            }
        }
        if (created)
        {
            pick!.FirstLine = _runLine;
            _domains.Add(pick);
        }
        var dom = pick!;
        if (created)
        {
            dom.Id = _domains.Count;
            if (_attachedByPid.Remove(_runPid, out var dev)) dom.Devices.Add(dev);
        }

        ulong got = dom.Alloc.AllocIova(dom.Master, size, ulong.MaxValue, cpu);
        dom.Compared += _runEvents;
        if (got == _runStart)
        {
            Matched += _runEvents;
            dom.Matched += _runEvents;
        }
        else
        {
            if (Mismatches.Count < _opt.MaxMismatchesListed)
                Mismatches.Add(new FidelityMismatch(_runLine, $"domain {dom.Id}", "map", $"0x{_runStart:x}", got == 0 ? "no IOVA" : $"0x{got:x}"));
            // Keep the model's domain like the kernel's: give back what it chose, hold what the kernel chose.
            if (got != 0) dom.Alloc.Iovad.FreeIova(dom.Alloc.Iovad.IovaPfn(got));
            var iovad = dom.Alloc.Iovad;
            if (iovad.FindIova(iovad.IovaPfn(_runStart)).IsNull && iovad.FindIova(iovad.IovaPfn(_runEnd - 1)).IsNull)
                iovad.ReserveIova(iovad.IovaPfn(_runStart), iovad.IovaPfn(_runEnd - 1));
        }
        dom.MapEvents += _runEvents;
        dom.Allocations++;
        dom.BytesMapped += size;
        dom.Live[_runStart] = (size, ++_seq);
        dom.LiveBytes += size;
        if (dom.LiveBytes > dom.PeakLiveBytes) dom.PeakLiveBytes = dom.LiveBytes;
        dom.LastPid = _runPid;
        dom.LastSeq = _seq;
    }

    // The domain the same task used, then the one used most recently.
    long Rank(Dom d) => (d.LastPid == _runPid ? 1L << 62 : 0) + d.LastSeq;

    /// <summary>Ends the replay and reports the domains.</summary>
    public IommuLayerReport Finish()
    {
        CloseRun();
        var v = _opt.Kernel;
        string kernel = v is null ? "a kernel before 6.12 (version not known: pass the kernel log with --dmesg)" : $"Linux {v.Major}.{v.Minor}";
        string rules = _depotLimit > 0
            ? $"{kernel}: IOVA rcache with IOVA_MAG_SIZE 127 and a fixed depot of {_depotLimit} magazines per size (as v6.1; v6.7 made it a list)"
            : $"{kernel}: IOVA rcache with IOVA_MAG_SIZE 127 and a depot list trimmed by delayed work (v6.7 and later)";
        return new IommuLayerReport
        {
            Rules = rules,
            Policy = _opt.Lazy ? "lazy (flush queue)" : "strict",
            MapEvents = _mapEvents,
            UnmapEvents = _unmapEvents,
            UnmatchedUnmaps = _unmatchedUnmaps,
            Invalidations = _strictInvalidations + _flush.Flushes,
            LiveMappingsAtEnd = _domains.Sum(d => (long)d.Live.Count),
            Domains = _domains.Select(d => new IommuLayerDomainReport
            {
                Id = d.Id, Devices = d.Devices, FirstLine = d.FirstLine, MapEvents = d.MapEvents, Allocations = d.Allocations,
                Unmaps = d.Unmaps, BytesMapped = d.BytesMapped, Compared = d.Compared, Matched = d.Matched,
                LiveMappingsAtEnd = d.Live.Count, LiveBytesAtEnd = d.LiveBytes, PeakLiveBytes = d.PeakLiveBytes,
                LiveIovaLow = d.Live.Count == 0 ? null : $"0x{d.Live.Keys.Min():x}",
                LiveIovaHigh = d.Live.Count == 0 ? null : $"0x{d.Live.Max(x => x.Key + x.Value.Size) - 1:x}",
            }).ToList(),
            Unknowable =
            [
                "iommu:map/unmap name no device: domains are numbered in order of first use" + (_domains.Any(d => d.Devices.Count > 0) ? " (named where attach events show the device)" : ""),
                "the DMA-API call behind a map is not traced: its size (before page alignment), direction and attributes, and whether it was a single, sg or coherent mapping",
                "swiotlb bounces are not tied to devices or mappings",
            ],
        };
    }

    sealed class FlushCounter : IIotlbFlushAll
    {
        public long Flushes;
        public void FlushIotlbAll() => Flushes++;
    }
}
