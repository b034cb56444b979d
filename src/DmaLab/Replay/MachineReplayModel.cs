using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Sim;
using DmaLab.Trace;

namespace DmaLab.Replay;

/// <summary>
/// The replay model backed by the real DMA pieces: dma-direct, the swiotlb slot allocator (<see cref="SwiotlbPool"/>)
/// and iommu-dma's IOVA allocator (<see cref="IommuDmaIovaAllocator"/> over <see cref="Iova.IovaDomain"/>, one DMA
/// domain per device as Linux's default domains are). Each device gets its dma_map_ops the first time it maps, as
/// kernel/dma/mapping.c would have chosen them on the traced machine (see <see cref="MachineReplayModel"/> remarks in
/// <c>ChoosePath</c>); every address the model returns comes from those allocators' own rules.
/// With a what-if <see cref="ReplayPolicy"/> the same calls run on another configuration and
/// <see cref="Stats"/> tells what they cost there.
/// </summary>
public sealed partial class MachineReplayModel : IReplayModel, ITracedSgSegments
{
    enum DmaPath : byte { Unknown, Direct, DirectTentative, Swiotlb, Iommu }

    sealed class Dev
    {
        public required Device Device;
        public int Id;
        public DmaPath Path;
        public long Offset;
        public bool MinAlignLearned, MaxSegLearned;
        public IommuDmaIovaAllocator? Domain;
        public IommuDmaMaster? Master;
        public int DomainId;
    }

    readonly MachineReplayOptions _opt;
    readonly SimClock _clock = new();
    readonly CostModel _cost;
    readonly List<Dev?> _byId = new();
    readonly Dictionary<string, Dev> _byName = new(StringComparer.Ordinal);
    readonly ReplayIotlbEstimate _iotlb = new();
    readonly FlushCounter _flush;
    readonly Dictionary<(int Dev, ulong Dma), (ulong Start, ulong Length)> _sgIommu = new();
    readonly Dictionary<(int Dev, ulong Dma), ulong[]> _sgBounce = new();
    SgSegment[] _sgIn = new SgSegment[TraceRecord.TraceMaxEntries];
    SgDmaSegment[] _sgOut = new SgDmaSegment[TraceRecord.TraceMaxEntries];
    PhysicalMemory? _memory;
    SwiotlbPool? _pool;
    ReplayIommuFamily? _family;
    int _domains;
    long _maps, _unmaps, _failures, _invalidations, _pteMapped, _pteUnmapped, _bounces;
    readonly List<string> _notes = new();

    public MachineReplayModel(MachineReplayOptions? options = null)
    {
        _opt = options ?? new MachineReplayOptions();
        _cost = _opt.Costs ?? _opt.Platform?.Costs ?? new CostModel();
        _family = ReplayIommuFamily.FromName(_opt.IommuModel)
                  ?? ReplayIommuFamily.FromName(_opt.Platform?.Iommus.FirstOrDefault(i => i.Enabled)?.Model);
        _flush = new FlushCounter(this);
        if (_opt.Platform is { Cpus: > 0 } p && _opt.Cpus <= 1) _opt.Cpus = p.Cpus;
    }

    public string Name => _opt.Policy == ReplayPolicy.AsTraced
        ? "machine (as traced: dma-direct / swiotlb / iommu-dma per device)"
        : $"machine what-if {PolicyName(_opt.Policy)}{(_family is null ? "" : " on " + _family.Name)}";

    public static string PolicyName(ReplayPolicy p) => p switch
    {
        ReplayPolicy.AsTraced => "as-traced",
        ReplayPolicy.Strict => "strict",
        ReplayPolicy.Lazy => "lazy",
        ReplayPolicy.Passthrough => "passthrough",
        ReplayPolicy.SwiotlbForce => "swiotlb-force",
        _ => p.ToString(),
    };

    /// <summary>Possible CPUs; set before the first call (the runner takes it from the trace header).</summary>
    public int Cpus { get => _opt.Cpus; set => _opt.Cpus = Math.Max(1, value); }

    /// <summary>Why the model chose what it chose (pool base, IOMMU family, learned device limits).</summary>
    public IReadOnlyList<string> Notes => [.. _notes, .. InferenceNotes()];

    /// <summary>The swiotlb pool once a device bounced (null before).</summary>
    public SwiotlbPool? Swiotlb => _pool;

    public void AddDevice(int deviceId, string name)
    {
        while (_byId.Count <= deviceId) _byId.Add(null);
        _byId[deviceId] = DevFor(name, deviceId);
    }

    Dev DevFor(string name, int id = -1)
    {
        if (_byName.TryGetValue(name, out var d))
        {
            if (id >= 0) d.Id = id;
            return d;
        }
        var spec = _opt.Platform?.Devices.FirstOrDefault(x => string.Equals(x.Name, name, StringComparison.Ordinal)
                                                            || string.Equals(x.BusId, name, StringComparison.Ordinal));
        bool known = spec is not null;
        spec ??= new DeviceSpec
        {
            Name = name,
            Bus = IsPciName(name) ? "pci" : "platform",
            // Without a platform: the widest mask (modern PCI drivers set 64 bits; a narrower one shows up as
            // swiotlb_bounced's dma_mask), PCI's default 64 KiB max segment until the trace shows a longer one.
            DmaMask = 64,
            MaxSegmentSize = 65536,
        };
        d = new Dev { Device = new Device(spec), Id = id, MinAlignLearned = known, MaxSegLearned = known };
        _byName.Add(name, d);
        return d;
    }

    static bool IsPciName(string n)
    {
        // domain:bus:dev.fn
        int c1 = n.IndexOf(':'), c2 = n.LastIndexOf(':'), dot = n.LastIndexOf('.');
        return c1 > 0 && c2 > c1 && dot > c2;
    }

    /// <summary>Devices that are the IOMMU itself (they allocate their queues untranslated).</summary>
    static bool IsIommuItself(string n) =>
        n.Contains("smmu", StringComparison.OrdinalIgnoreCase) || n.Contains("dmar", StringComparison.OrdinalIgnoreCase)
        || n.Contains("iommu", StringComparison.OrdinalIgnoreCase);

    Dev D(in ReplayCall c)
    {
        if (c.DeviceId >= 0 && c.DeviceId < _byId.Count && _byId[c.DeviceId] is { } d) return d;
        AddDevice(Math.Max(c.DeviceId, 0), c.Device);
        return _byId[Math.Max(c.DeviceId, 0)]!;
    }

    int Cpu(int cpu) => cpu < 0 ? 0 : cpu < _opt.Cpus ? cpu : cpu % _opt.Cpus;

    void Tick(in ReplayCall c) => _clock.AdvanceTo(c.TimestampNs);
}
