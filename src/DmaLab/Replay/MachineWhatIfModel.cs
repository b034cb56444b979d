using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Platform;

namespace DmaLab.Replay;

/// <summary>
/// The what-if side of a replay, run on a booted <see cref="Machine"/>: the trace's calls go through the machine's
/// DMA API (<see cref="DmaMapping"/>) to each device's dma_map_ops as arch_setup_dma_ops chose them under the what-if
/// policy — iommu-dma over the real IOMMU driver with page tables in simulated memory and a strict or lazy (flush
/// queue) domain, dma-direct, or dma-direct bouncing through swiotlb — and after each mapping the device touches it
/// through its translation unit, so IOTLB hits and misses, table walks, invalidation commands, IOVA allocator figures,
/// bounce bytes, stale-translation hits and virtual time are the model's measurements, not estimates.
/// <para>
/// Device access pattern (the trace shows DMA-API calls, not the device's accesses; this is the assumption): at the
/// map call's timestamp, one access per 4 KiB page of each mapped DMA segment (the part of the page inside the
/// mapping) — a read for DMA_TO_DEVICE, a write for DMA_FROM_DEVICE, a read then a write for DMA_BIDIRECTIONAL, none
/// for DMA_NONE; the same again at each dma_sync_single_for_device (the buffer goes back to the device); a coherent
/// allocation (dma_alloc*) is touched once per page, read and write, at allocation. Accesses translate only: no bytes
/// move, because the trace's buffers hold no data the model knows and the model's own pages (page tables, pool
/// slots) may share their physical addresses.
/// </para>
/// <para>
/// Devices appear as the trace names them and are hot-added to the machine at their first call (Linux:
/// device_add() → iommu_probe_device() → arch_setup_dma_ops()), so the replay stays streaming: a PCI name
/// (domain:bus:dev.fn) is a PCI function whose requester ID is its stream ID, anything else a platform device with
/// the next free stream ID; 64-bit DMA mask, coherent, PCI's default 64 KiB max segment size until the trace shows
/// a longer one. Devices that are the IOMMU itself (an SMMU allocating its queues) stay untranslated.
/// </para>
/// </summary>
public sealed partial class MachineWhatIfModel : IReplayModel
{
    sealed class Dev
    {
        public required Device Device;
        public required DmaEngine Engine;
        public required string Path;
        public bool Translated;
        public ulong Granule;
    }

    readonly MachineReplayOptions _opt;
    readonly List<Dev?> _byId = new();
    readonly Dictionary<string, Dev> _byName = new(StringComparer.Ordinal);
    readonly List<string> _notes = new();
    Machine? _m;
    ReplayIommuFamily? _family;
    Baseline _base, _setup;
    uint _nextStreamId = 0x1000;

    public MachineWhatIfModel(MachineReplayOptions options)
    {
        _opt = options ?? throw new ArgumentNullException(nameof(options));
        if (options.Policy == ReplayPolicy.AsTraced && options.IommuModel is null)
            throw new ArgumentException("a what-if needs a policy other than as-traced or an IOMMU model", nameof(options));
        _family = ReplayIommuFamily.FromName(options.IommuModel);
        if (options.Platform is { Cpus: > 0 } p && options.Cpus <= 1) options.Cpus = p.Cpus;
    }

    /// <summary>The what-if policy (strict when only an IOMMU model was asked for).</summary>
    public ReplayPolicy Policy => _opt.Policy == ReplayPolicy.AsTraced ? ReplayPolicy.Strict : _opt.Policy;

    public string Name => $"machine what-if {MachineReplayModel.PolicyName(Policy)}{(_family is null ? "" : " on " + _family.Name)}";

    /// <summary>Possible CPUs; set before the first call (the machine boots with them).</summary>
    public int Cpus { get => _opt.Cpus; set => _opt.Cpus = Math.Max(1, value); }

    /// <summary>Where the IOMMU family comes from when no <see cref="MachineReplayOptions.IommuModel"/> was given: the
    /// traced model's inference (asked at boot, i.e. at the first call).</summary>
    public Func<ReplayIommuFamily?>? InferredFamily { get; set; }

    /// <summary>The booted machine (null before the first call).</summary>
    public Machine? Machine => _m;

    /// <summary>How the what-if machine was set up (IOMMU family, platform, devices added).</summary>
    public IReadOnlyList<string> Notes => _notes;

    public void AddDevice(int deviceId, string name)
    {
        while (_byId.Count <= deviceId) _byId.Add(null);
    }

    Dev D(in ReplayCall c)
    {
        int id = Math.Max(c.DeviceId, 0);
        if (id < _byId.Count && _byId[id] is { } d) return d;
        while (_byId.Count <= id) _byId.Add(null);
        return _byId[id] = DevFor(c.Device);
    }

    Dev DevFor(string name)
    {
        if (_byName.TryGetValue(name, out var d)) return d;
        var m = Boot();
        var before = Baseline.Take(m);
        var dev = m.Devices.FirstOrDefault(x => string.Equals(x.Name, name, StringComparison.Ordinal)
                                              || string.Equals(x.Spec.BusId, name, StringComparison.Ordinal))
                  ?? m.AddDevice(SpecFor(name));
        _setup += Baseline.Take(m) - before;
        var setup = m.SetupOf(dev);
        bool translated = m.Iommu.Core.GetDomain(dev) is { } dom && dom.IsPaging && setup.Ops.Contains("iommu", StringComparison.Ordinal);
        string path = translated ? "iommu-dma" : dev.DmaIoTlbMem is { ForceBounce: true } ? "swiotlb" : "dma-direct";
        ulong granule = translated && m.Iommu.Core.GetDomain(dev) is { PgsizeBitmap: not 0 } pd ? 1UL << System.Numerics.BitOperations.TrailingZeroCount(pd.PgsizeBitmap) : 0;
        d = new Dev { Device = dev, Engine = m.Engine(dev), Path = path, Translated = translated, Granule = granule };
        _byName.Add(name, d);
        _paths[path] = _paths.GetValueOrDefault(path) + 1;
        return d;
    }

    readonly SortedDictionary<string, int> _paths = new(StringComparer.Ordinal);

    // A name the IOMMU core can read a requester ID from (Devices.PciBdf), else the device is a platform one.
    static bool IsPciName(string n) => PciBdf.TryParse(n, out _);

    static bool IsIommuItself(string n) =>
        n.Contains("smmu", StringComparison.OrdinalIgnoreCase) || n.Contains("dmar", StringComparison.OrdinalIgnoreCase)
        || n.Contains("iommu", StringComparison.OrdinalIgnoreCase);

    DeviceSpec SpecFor(string name)
    {
        bool pci = IsPciName(name);
        string? iommu = Policy is ReplayPolicy.SwiotlbForce || IsIommuItself(name) ? null : _iommuName;
        var s = new DeviceSpec
        {
            Name = name, Bus = pci ? "pci" : "platform", Kind = "traced", DmaMask = 64, Coherent = true,
            Iommu = iommu, MaxSegmentSize = 65536,
        };
        if (iommu is not null && !pci) s.StreamIds.Add(_nextStreamId++);
        _notes.Add($"{name}: hot-added as a {(pci ? "PCI function" : "platform device")}{(iommu is null ? ", untranslated" : " behind " + iommu)}");
        return s;
    }

    string? _iommuName;

    /// <summary>Boots the what-if machine at the first call (CPUs and the IOMMU family are known by then).</summary>
    Machine Boot()
    {
        if (_m is not null) return _m;
        var family = _family ?? InferredFamily?.Invoke()
                     ?? ReplayIommuFamily.FromName(_opt.Platform?.Iommus.FirstOrDefault(i => i.Enabled)?.Model)
                     ?? ReplayIommuFamily.IntelVtd;
        _family = family;
        var spec = WhatIfPlatform.Build(_opt.Platform, family, Policy, Math.Max(1, _opt.Cpus), _opt.Costs, _opt.IommuModel is not null, out _iommuName, _notes);
        _m = DmaLab.Machine.Boot(spec, new MachineOptions
        {
            Policy = Policy switch
            {
                ReplayPolicy.Lazy => IommuPolicy.Lazy,
                ReplayPolicy.Passthrough => IommuPolicy.Passthrough,
                _ => IommuPolicy.Strict,
            },
            SwiotlbForce = Policy == ReplayPolicy.SwiotlbForce,
            // The traced kernel's dma-debug already spoke (the primary's findings); the what-if measures cost only.
            DmaDebug = false,
            PciMemWindows = _opt.PciWindows,
        });
        _base = Baseline.Take(_m);
        return _m;
    }

    int Cpu(int cpu) => cpu < 0 ? 0 : cpu % Math.Max(1, _opt.Cpus);
}
