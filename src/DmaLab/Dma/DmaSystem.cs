using DmaLab.Devices;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Trace;

namespace DmaLab.Dma;

/// <summary>
/// The DMA layer of a booted platform, assembled in the kernel's order: swiotlb_init() places the default bounce
/// pool below the DMA limit first (memblock_alloc_low, or from CMA when the platform asks — seed 004; or at a
/// fixed base when replaying a capture), restricted-dma-pool regions become per-device pools, then dma-direct
/// with its atomic pools (postcore_initcall) and every device attached to dma-direct (iommu-dma replaces that for
/// devices in DMA domains). The lead's machine boot can use this or wire the same parts itself.
/// </summary>
public sealed class DmaSystem
{
    DmaSystem(MemorySystem mem, CpuCache cache, KernelAddressSpace kva, DmaDirectOps direct, DmaDebug? debug, DmaMapping api,
        SwiotlbPool? swiotlb, List<Device> devices, List<string> messages)
    {
        _devices = devices;
        Memory = mem; Cache = cache; Kva = kva; Direct = direct; Debug = debug; Api = api; Swiotlb = swiotlb; Devices = devices; BootMessages = messages;
    }

    public MemorySystem Memory { get; }
    public CpuCache Cache { get; }
    public KernelAddressSpace Kva { get; }
    public DmaDirectOps Direct { get; }
    public DmaDebug? Debug { get; }
    public DmaMapping Api { get; }
    /// <summary>io_tlb_default_mem, or null (swiotlb=noforce, or no device needs it).</summary>
    public SwiotlbPool? Swiotlb { get; }
    public IReadOnlyList<Device> Devices { get; }
    public IReadOnlyList<string> BootMessages { get; }

    public Device? Device(string name) => Devices.FirstOrDefault(d => d.Name == name);

    readonly List<Device> _devices;

    /// <summary>
    /// A device that appears after boot (Linux: device_add() of a hot-plugged PCI function or a late platform device):
    /// it gets the default swiotlb pool (no restricted pool: those are named by the device tree at boot) and
    /// dma-direct until arch_setup_dma_ops says otherwise.
    /// </summary>
    public Device AddDevice(DeviceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (Device(spec.Name) is not null) throw new ArgumentException($"device '{spec.Name}' already exists", nameof(spec));
        var dev = new Device(spec);
        SwiotlbBoot.AttachDevices([dev], Swiotlb, new Dictionary<string, SwiotlbPool>());
        Direct.Attach(dev);
        _devices.Add(dev);
        return dev;
    }

    /// <summary>Boots the DMA layer of <paramref name="spec"/> on a fresh <see cref="MemorySystem"/> (or the given one,
    /// which must not have allocated yet if the swiotlb pool is to land where the kernel puts it).</summary>
    public static DmaSystem Boot(PlatformSpec spec, MemorySystem? memory = null, ITraceSink? trace = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var mem = memory ?? new MemorySystem(spec);
        var msgs = new List<string>();
        var devices = spec.Devices.Where(d => d.Enabled).Select(d => new Device(d)).ToList();

        // swiotlb_init(): needed when some device cannot reach all of memory (or forced).
        ulong maxPhys = mem.Memory.End.Value - 1;
        bool limited = devices.Any(d => Math.Min(d.DmaMask, d.BusDmaLimit == 0 ? ulong.MaxValue : d.BusDmaLimit) < maxPhys);
        SwiotlbPool? pool = null;
        var mode = SwiotlbModes.Parse(spec.Swiotlb.Mode);
        if (mode == SwiotlbMode.Force || (limited && mode != SwiotlbMode.NoForce))
        {
            var g = SwiotlbBoot.Geometry(spec.Swiotlb, spec.Cpus);
            if (spec.Swiotlb.FromCma && mem.DefaultCma is { } cma
                && cma.Alloc(g.Bytes >> PhysAddr.PageShift, 0, out var cbase) == 0)
                pool = SwiotlbBoot.CreateFromCma(mem.Memory, new MemRange(cbase, g.Bytes), spec.Swiotlb, spec.Cpus);
            else
            {
                PhysAddr? b = spec.Swiotlb.Base is ulong fixedBase ? new PhysAddr(fixedBase)
                    : mem.ReserveBootMemory(g.Bytes, PhysAddr.PageSize, mem.DmaPhysLimit.Value, "swiotlb");
                if (b is { } pb)
                {
                    pool = SwiotlbBoot.CreateDefault(mem.Memory, spec.Swiotlb, pb, spec.Cpus, limited, out var m);
                    msgs.AddRange(m);
                }
                else msgs.Add("software IO TLB: Cannot allocate buffer");
            }
        }
        var restricted = new Dictionary<string, SwiotlbPool>(StringComparer.Ordinal);
        foreach (var r in spec.ReservedMemory.Where(r => r.Compatible == "restricted-dma-pool"))
        {
            var placed = mem.ReservedRegion(r.Name);
            if (placed is null) continue;
            var rs = new ReservedMemorySpec { Name = r.Name, Base = placed.Base.Value, Size = placed.Size, Compatible = r.Compatible };
            restricted[r.Name] = SwiotlbBoot.CreateRestricted(mem.Memory, rs);
            msgs.Add(SwiotlbBoot.RestrictedMessage(rs));
        }
        SwiotlbBoot.AttachDevices(devices, pool, restricted);

        var cache = new CpuCache(mem.Memory, spec.CacheLineSize);
        var kva = KernelAddressSpace.For(spec);
        var direct = new DmaDirectOps(mem, kva, cache);
        msgs.AddRange(direct.BootMessages);
        var debug = spec.Kernel.DmaDebug ? new DmaDebug() : null;
        var api = new DmaMapping(kva, cache, debug, trace);
        foreach (var d in devices) direct.Attach(d);
        if (trace is not null && pool is not null) pool.Trace = trace;
        return new DmaSystem(mem, cache, kva, direct, debug, api, pool, devices, msgs);
    }
}
