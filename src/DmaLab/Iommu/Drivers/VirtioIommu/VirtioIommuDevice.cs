using DmaLab.Iommu.PageTables;
using DmaLab.Mm;

namespace DmaLab.Iommu.Drivers.VirtioIommu;

/// <summary>
/// The virtio-iommu device (virtio spec, "IOMMU device"; QEMU hw/virtio/virtio-iommu.c plays it in a VM): its config
/// space (page_size_mask, input_range, domain_range, probe_size, the BYPASS_CONFIG feature), the endpoints attached
/// to each domain and each domain's mapping tree. It reads each request from guest memory, applies it and writes the
/// status into the request's tail. There are no IOTLB invalidation commands: the device keeps its own translations
/// coherent with the MAP/UNMAP requests it applies (<see cref="Unmapped"/> tells the translation unit).
/// </summary>
public sealed class VirtioIommuDevice
{
    sealed class Domain(VirtioIommuMappings tree)
    {
        public readonly VirtioIommuMappings Tree = tree;
        public readonly HashSet<uint> Endpoints = new();
        public bool Bypass;
    }

    readonly PhysicalMemory _memory;
    readonly Dictionary<uint, Domain> _domains = new();
    readonly Dictionary<uint, uint> _endpoint = new();
    readonly IReadOnlyList<(ulong Start, ulong End, byte Subtype)> _resvMem;
    readonly HashSet<uint> _known;

    /// <param name="endpoints">Endpoint IDs the device manages (the RIDs/stream IDs of its VIOT or iommu-map entries).</param>
    /// <param name="resvMem">What a PROBE reports for every endpoint: RESV_MEM properties (QEMU x86: the MSI window
    /// 0xfee00000-0xfeefffff as VIRTIO_IOMMU_RESV_MEM_T_MSI).</param>
    public VirtioIommuDevice(PhysicalMemory memory, ulong pageSizeMask, ulong inputStart, ulong inputEnd,
        uint domainStart, uint domainEnd, bool bypassFeature, IEnumerable<uint> endpoints,
        IReadOnlyList<(ulong Start, ulong End, byte Subtype)> resvMem)
    {
        _memory = memory;
        PageSizeMask = pageSizeMask;
        InputStart = inputStart;
        InputEnd = inputEnd;
        DomainStart = domainStart;
        DomainEnd = domainEnd;
        BypassFeature = bypassFeature;
        _known = new HashSet<uint>(endpoints);
        _resvMem = resvMem;
    }

    // ---- config space (struct virtio_iommu_config) -----------------------------------------------------------
    public ulong PageSizeMask { get; }
    public ulong InputStart { get; }
    public ulong InputEnd { get; }
    public uint DomainStart { get; }
    public uint DomainEnd { get; }
    public int ProbeSize => VirtioIommuLayout.ProbeSize;
    /// <summary>VIRTIO_IOMMU_F_BYPASS_CONFIG: an endpoint can be attached to a bypass domain.</summary>
    public bool BypassFeature { get; }

    public long Requests { get; private set; }
    /// <summary>Called after an UNMAP removed [start, end] from a domain, with the domain ID: the device drops its
    /// cached translations of the range.</summary>
    public Action<uint, ulong, ulong>? Unmapped { get; set; }

    /// <summary>An endpoint the device manages (its firmware topology: VIOT, iommu-map).</summary>
    public void AddEndpoint(uint endpoint) => _known.Add(endpoint);

    public int MappingCount(uint domain) => _domains.TryGetValue(domain, out var d) ? d.Tree.Count : 0;
    public bool IsAttached(uint endpoint, out uint domain) => _endpoint.TryGetValue(endpoint, out domain);

    /// <summary>The device's translation of an endpoint: its domain's tree (null when not attached or in bypass).</summary>
    public VirtioIommuMappings? TreeOf(uint endpoint, out bool bypass)
    {
        bypass = false;
        if (!_endpoint.TryGetValue(endpoint, out uint id)) return null;
        var d = _domains[id];
        bypass = d.Bypass;
        return d.Bypass ? null : d.Tree;
    }

    /// <summary>Processes the request at <paramref name="req"/> (<paramref name="length"/> bytes, tail included) and
    /// writes its status; returns the status.</summary>
    public VirtioIommuStatus Handle(PhysAddr req, int length)
    {
        Requests++;
        var status = Apply(req, length);
        W8(req + (ulong)(length - VirtioIommuLayout.Tail), (byte)status);
        return status;
    }

    uint U32(PhysAddr a, int off) { _memory.TryReadU32(a + (ulong)off, out uint v); return v; }
    void W8(PhysAddr a, byte v) => _memory.Write(a, [v]);
    void W16(PhysAddr a, ushort v) => _memory.Write(a, [(byte)v, (byte)(v >> 8)]);
    ulong U64(PhysAddr a, int off) { _memory.TryReadU64(a + (ulong)off, out ulong v); return v; }

    VirtioIommuStatus Apply(PhysAddr req, int length)
    {
        Span<byte> head = stackalloc byte[1];
        if (_memory.Read(req, head) != MemAccess.Ok) return VirtioIommuStatus.DevErr;
        byte type = head[0];
        const int b = VirtioIommuLayout.Head;
        switch ((VirtioIommuRequestType)type)
        {
            case VirtioIommuRequestType.Attach:
            {
                uint dom = U32(req, b), ep = U32(req, b + 4), flags = U32(req, b + 8);
                if (!_known.Contains(ep)) return VirtioIommuStatus.NoEnt;
                if (dom < DomainStart || dom > DomainEnd) return VirtioIommuStatus.Range;
                if ((flags & ~VirtioIommuLayout.AttachBypass) != 0) return VirtioIommuStatus.Inval;
                bool bypass = (flags & VirtioIommuLayout.AttachBypass) != 0;
                if (bypass && !BypassFeature) return VirtioIommuStatus.Inval;
                if (_domains.TryGetValue(dom, out var existing) && existing.Bypass != bypass) return VirtioIommuStatus.Inval;
                // An endpoint attached elsewhere is detached first; a domain left without endpoints is freed.
                Detach(ep);
                if (existing is null) _domains[dom] = existing = new Domain(NewTree()) { Bypass = bypass };
                existing.Endpoints.Add(ep);
                _endpoint[ep] = dom;
                return VirtioIommuStatus.Ok;
            }
            case VirtioIommuRequestType.Detach:
            {
                uint dom = U32(req, b), ep = U32(req, b + 4);
                if (!_known.Contains(ep)) return VirtioIommuStatus.NoEnt;
                if (!_endpoint.TryGetValue(ep, out uint cur) || cur != dom) return VirtioIommuStatus.Inval;
                Detach(ep);
                return VirtioIommuStatus.Ok;
            }
            case VirtioIommuRequestType.Map:
            {
                uint dom = U32(req, b), flags = U32(req, b + 28);
                ulong start = U64(req, b + 4), end = U64(req, b + 12), phys = U64(req, b + 20);
                if (!_domains.TryGetValue(dom, out var d)) return VirtioIommuStatus.NoEnt;
                if (d.Bypass) return VirtioIommuStatus.Inval;
                if (start < InputStart || end > InputEnd || end < start) return VirtioIommuStatus.Range;
                ulong granuleMask = (PageSizeMask & (~PageSizeMask + 1)) - 1;
                if ((start & granuleMask) != 0 || ((end + 1) & granuleMask) != 0 || (phys & granuleMask) != 0) return VirtioIommuStatus.Range;
                if ((flags & ~(VirtioIommuLayout.MapRead | VirtioIommuLayout.MapWrite | VirtioIommuLayout.MapMmio)) != 0) return VirtioIommuStatus.Inval;
                var prot = ((flags & VirtioIommuLayout.MapRead) != 0 ? IommuProt.Read : 0) | ((flags & VirtioIommuLayout.MapWrite) != 0 ? IommuProt.Write : 0)
                           | ((flags & VirtioIommuLayout.MapMmio) != 0 ? IommuProt.Mmio : 0);
                return d.Tree.Add(start, end, phys, prot) == 0 ? VirtioIommuStatus.Ok : VirtioIommuStatus.Inval;
            }
            case VirtioIommuRequestType.Unmap:
            {
                uint dom = U32(req, b);
                ulong start = U64(req, b + 4), end = U64(req, b + 12);
                if (!_domains.TryGetValue(dom, out var d)) return VirtioIommuStatus.NoEnt;
                if (d.Bypass) return VirtioIommuStatus.Inval;
                // A mapping that the range would split is not unmapped (the spec's RANGE case is left to the driver,
                // which never asks for it: viommu_unmap_pages() unmaps whole mappings).
                d.Tree.Remove(start, end);
                Unmapped?.Invoke(dom, start, end);
                return VirtioIommuStatus.Ok;
            }
            case VirtioIommuRequestType.Probe:
            {
                uint ep = U32(req, b);
                if (!_known.Contains(ep)) return VirtioIommuStatus.NoEnt;
                if (length < VirtioIommuLayout.Head + VirtioIommuLayout.ProbeBody + ProbeSize + VirtioIommuLayout.Tail) return VirtioIommuStatus.Inval;
                var p = req + (ulong)(b + VirtioIommuLayout.ProbeBody);
                int off = 0;
                foreach (var (s, e, sub) in _resvMem)
                {
                    if (off + 4 + 20 + 4 > ProbeSize) break;
                    W16(p + (ulong)off, VirtioIommuLayout.ProbeResvMem);
                    W16(p + (ulong)off + 2, 20);
                    W8(p + (ulong)off + 4, sub);
                    _memory.TryWriteU64(p + (ulong)off + 8, s);
                    _memory.TryWriteU64(p + (ulong)off + 16, e);
                    off += 24;
                }
                W16(p + (ulong)off, VirtioIommuLayout.ProbeNone);
                return VirtioIommuStatus.Ok;
            }
            default:
                return VirtioIommuStatus.Unsupp;
        }
    }

    VirtioIommuMappings NewTree() => new(new IoPgtableConfig { PgsizeBitmap = PageSizeMask, Ias = 64, Oas = 64 });

    void Detach(uint ep)
    {
        if (!_endpoint.Remove(ep, out uint old)) return;
        var d = _domains[old];
        d.Endpoints.Remove(ep);
        if (d.Endpoints.Count > 0) return;
        // The last endpoint left: the device removes every mapping and frees the domain.
        if (!d.Bypass && d.Tree.Count > 0) Unmapped?.Invoke(old, 0, ulong.MaxValue);
        _domains.Remove(old);
    }
}
