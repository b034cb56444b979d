using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Iommu;
using DmaLab.Iommu.PageTables;
using DmaLab.Iova;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Workloads;

/// <summary>
/// A composite DRM device (seed 001: "a logical DRM device allocates one domain per process and associates the 2D
/// and 3D engines with that same domain on process switch"): the driver opts its engines out of the default DMA
/// domain (Linux: iommu_group_claim_dma_owner(), as drivers with driver_managed_dma do), allocates one UNMANAGED
/// domain per process (iommu_paging_domain_alloc()) and manages each process's GPU address space with its own
/// IOVA allocator (drivers/iommu/iova.c alloc_iova(), size-aligned, as host1x/tegra-drm do), mapping buffer
/// objects with iommu_map(). On every context switch both engines are detached from the previous process's domain
/// and attached to the next one's (iommu_detach_group()/iommu_attach_group()); the virtual time and IOTLB
/// invalidations of the switches are measured. Each process's buffers live in its own 256 MiB window of GPU
/// address space, so a buffer address leaked from another process never aliases one of the receiver's buffers:
/// the deliberate cross-process probes (the 2D engine reading, the 3D engine writing another process's buffer
/// while this process is current) must each raise exactly one IOMMU fault and leave the victim's bytes intact.
/// </summary>
public static class DrmCompositeWorkload
{
    public const string Name = "drm-composite";
    public const string Summary = "DRM 2D/3D engines, one UNMANAGED domain per process (3), switched per context; isolation probes";
    public const int Processes = 3;
    const ulong WindowBytes = 256UL << 20;
    const int ChunkBytes = 16 << 10;

    sealed class Process
    {
        public required IommuDomain Domain;
        public required IovaDomain Iovad;
        public readonly List<(ulong Iova, PhysAddr Phys, int Order, ulong Size)> Bos = new();
        public long Faults;
    }

    /// <summary>Runs on a booted machine (its options name the policy variant).</summary>
    public static WorkloadResult Run(Machine m, ulong seed) => Run(WorkloadContext.From(m), seed);

    public static WorkloadResult Run(WorkloadContext ctx, ulong seed, int timeslices = 24)
    {
        var r = new WorkloadResult { Name = Name, Variant = ctx.Policy, Description = Summary };
        var core = ctx.Iommu;
        if (core is null) return Skip(r, "the platform has no IOMMU: no per-process domains possible");
        var (e2d, e3d, why) = PickEngines(ctx, core);
        if (e2d is null || e3d is null) return Skip(r, why);
        if (why.Length > 0) r.Notes.Add(why);
        // The per-process windows sit just below 4 GiB; an engine that cannot use that IOVA range (its reserved
        // regions cover it, e.g. an s390 zPCI function whose DMA window starts at 4 GiB) cannot run this driver.
        const ulong winHi = 0xffff_ffffUL, winLo = winHi + 1 - Processes * WindowBytes;
        foreach (var e in new[] { e2d, e3d })
            foreach (var rr in core.GetResvRegions(e))
                if (rr.Type == ReservedRegionType.Reserved && rr.Start <= winHi && rr.Start + rr.Length - 1 >= winLo)
                    return Skip(r, $"{e.Name}: reserved IOVA region 0x{rr.Start:x}-0x{rr.Start + rr.Length - 1:x} (iommu_get_resv_regions) covers the GPU windows below 4 GiB");
        r.Notes.Add($"2D engine {e2d.Name}, 3D engine {e3d.Name}; per-process IOVA space from drivers/iommu/iova.c (alloc_iova, size-aligned), one {WindowBytes >> 20} MiB window per process");

        var groups = new List<IommuGroup>();
        foreach (var g in new[] { core.GetGroup(e2d)!, core.GetGroup(e3d)! }) if (!groups.Contains(g)) groups.Add(g);
        object owner = new();
        foreach (var g in groups)
        {
            int ret = core.ClaimDmaOwner(g, owner);
            if (ret != 0) return Skip(r, $"{g}: iommu_group_claim_dma_owner failed: -{Errno.Name(ret)}");
        }

        var rng = Rng.For(seed, Name);
        var pa = ctx.Memory.PageAllocator;
        var procs = new List<Process>();
        var exposure = new ExposureTracker(ctx.Memory.Memory.TotalBytes);
        var before = WorkloadCounters.Take(ctx, [e2d, e3d]);
        try
        {
            for (int p = 0; p < Processes; p++)
            {
                var dom = core.DomainAllocPaging(e2d);
                if (dom is null) { r.Notes.Add($"{e2d.Name}: no UNMANAGED domain for process {p} (driver refused or out of contexts)"); break; }
                // the driver finalises a domain (context bank, page-table format, pgsize_bitmap) at its first attach:
                // the process's first context switch happens before its buffers are mapped
                if (!Switch(core, groups, procs.Count > 0 ? procs[^1].Domain : null, dom))
                {
                    Switch(core, groups, dom, null);
                    core.DomainFree(dom);
                    r.Notes.Add($"process {p}: attaching the engines to its domain failed");
                    break;
                }
                ulong granule = IommuPgsize.MinPageSize(dom.PgsizeBitmap);
                var proc = new Process { Domain = dom, Iovad = new IovaDomain(Math.Min(granule, PhysAddr.PageSize), 1, 1, ctx.Clock) };
                IommuCore.SetFaultHandler(dom, static (_, _, _, _, token) => { ((Process)token!).Faults++; return 0; }, proc);
                procs.Add(proc);
                ulong top = Math.Min(dom.Geometry.ApertureEnd, 0xffff_ffffUL);
                ulong limitPfn = ((top + 1 - (ulong)p * WindowBytes) >> proc.Iovad.Shift) - 1;
                int bos = 4;
                for (int b = 0; b < bos; b++)
                {
                    int order = b == 0 ? 4 : rng.Next(2, 9); // 64 KiB command/vertex buffer, then 16 KiB .. 1 MiB
                    if (!pa.TryAllocPages(order, Gfp.Kernel | Gfp.NoWarn, out var phys)) { r.Notes.Add($"process {p}: out of memory for a 2^{order}-page BO"); continue; }
                    ulong size = PhysAddr.PageSize << order;
                    var range = proc.Iovad.AllocIova(size >> proc.Iovad.Shift, limitPfn, sizeAligned: true);
                    if (range.IsNull) { pa.FreePages(phys, order); r.Notes.Add($"process {p}: GPU address space full"); continue; }
                    ulong iova = range.PfnLo << proc.Iovad.Shift;
                    int ret = core.Map(dom, iova, phys.Value, size, IommuProt.Read | IommuProt.Write);
                    if (ret != 0) { proc.Iovad.FreeIova(range); pa.FreePages(phys, order); r.Notes.Add($"process {p}: iommu_map failed -{Errno.Name(ret)}"); continue; }
                    proc.Bos.Add((iova, phys, order, size));
                    ctx.Memory.Memory.Fill(phys, size, (byte)(0x10 * (p + 1) + b));
                }
            }
            if (procs.Count > 0) Switch(core, groups, procs[^1].Domain, null);
            procs.RemoveAll(p => p.Bos.Count == 0 && Free(core, p));
            if (procs.Count < 2) return Skip(r, "fewer than two process domains with buffers: no isolation to show");

            var eng2d = ctx.EngineFor(e2d);
            var eng3d = ctx.EngineFor(e3d);
            var chunk = new byte[ChunkBytes];
            ulong bytes = 0, switchNs = 0;
            long switches = 0, attachFailures = 0, unexpectedFaults = 0;
            long invBefore = 0, switchInvalidations = 0;
            Process? current = null;
            for (int t = 0; t < timeslices; t++)
            {
                var next = procs[current is null ? 0 : (procs.IndexOf(current) + 1 + (int)rng.Next((ulong)procs.Count - 1)) % procs.Count];
                invBefore = Invalidations(core);
                ulong t0 = ctx.Clock.NowNs;
                if (!Switch(core, groups, current?.Domain, next.Domain)) attachFailures++;
                switchNs += ctx.Clock.NowNs - t0;
                switchInvalidations += Invalidations(core) - invBefore;
                switches++;
                if (current is not null) foreach (var bo in current.Bos) exposure.OnUnmap(bo.Phys.Value, bo.Size, Granule(next));
                foreach (var bo in next.Bos) exposure.OnMap(bo.Phys.Value, bo.Size, Granule(next));
                current = next;
                // the 2D engine blits between two BOs, the 3D engine reads its vertex/command BO and renders into the last
                int passes = rng.Next(2, 6);
                for (int i = 0; i < passes; i++)
                {
                    var src = next.Bos[rng.Next(0, next.Bos.Count)];
                    var dst = next.Bos[^1];
                    ulong so = rng.Next(src.Size / ChunkBytes) * ChunkBytes, dofs = rng.Next(dst.Size / ChunkBytes) * ChunkBytes;
                    bytes += Move(eng2d.Read(new Dma.DmaAddr(src.Iova + so), chunk), ref unexpectedFaults);
                    bytes += Move(eng2d.Write(new Dma.DmaAddr(dst.Iova + dofs), chunk), ref unexpectedFaults);
                    bytes += Move(eng3d.Read(new Dma.DmaAddr(next.Bos[0].Iova), chunk), ref unexpectedFaults);
                    bytes += Move(eng3d.Write(new Dma.DmaAddr(dst.Iova + dofs), chunk), ref unexpectedFaults);
                }
            }
            foreach (var bo in current!.Bos) exposure.OnUnmap(bo.Phys.Value, bo.Size, Granule(current));

            // the deliberate probes: with process p current, touch process p+1's first buffer
            long probes = 0, probeFaults = 0, leaks = 0;
            int faultsBefore = core.Faults.Count;
            var probeBuf = new byte[256];
            for (int p = 0; p < procs.Count; p++)
            {
                var me = procs[p];
                var victim = procs[(p + 1) % procs.Count];
                if (victim.Bos.Count == 0) continue;
                Switch(core, groups, current?.Domain, me.Domain);
                current = me;
                var target = victim.Bos[0];
                var rd = eng2d.Read(new Dma.DmaAddr(target.Iova), probeBuf);
                probes++;
                if (rd.Status == DmaStatus.IommuFault) probeFaults++;
                else leaks++;
                Array.Fill(probeBuf, (byte)0xee);
                var wr = eng3d.Write(new Dma.DmaAddr(target.Iova + 512), probeBuf);
                probes++;
                if (wr.Status == DmaStatus.IommuFault) probeFaults++;
                else leaks++;
                var check = new byte[probeBuf.Length];
                ctx.Memory.Memory.Read(target.Phys + 512, check);
                if (check.AsSpan().IndexOf((byte)0xee) >= 0) r.Findings.Add(new Finding("isolation-breach", e3d.Name, target.Iova,
                    $"process {p}'s 3D job wrote process {(p + 1) % procs.Count}'s buffer at IOVA 0x{target.Iova:x}"));
            }
            Switch(core, groups, current?.Domain, null);

            before.Finish(r, ctx, [e2d, e3d], bytes);
            exposure.Report(r);
            r.Add("processes", procs.Count, "count")
             .Add("context-switches", switches, "count")
             .Add("switch-time-total", switchNs, "ns")
             .Add("switch-time-avg", switches == 0 ? 0 : switchNs / (double)switches, "ns")
             .Add("switch-invalidations", switchInvalidations, "count")
             .Add("attach-failures", attachFailures, "count")
             .Add("isolation-probes", probes, "count")
             .Add("isolation-probe-faults", probeFaults, "count")
             .Add("isolation-leaks", leaks, "count")
             .Add("faults-outside-probes", unexpectedFaults + Math.Max(0, core.Faults.Count - faultsBefore - probeFaults), "count")
             .Add("fault-handler-calls", procs.Sum(p => p.Faults), "count");
            // Faults during the probe loop are the probes doing their job (expected); any beyond one per faulting
            // probe are not.
            long expected = 0;
            foreach (var f in core.Faults.Skip(faultsBefore))
            {
                if (expected++ < probeFaults)
                    r.Expected.Add(new Finding("iommu-fault", f.Device, f.Iova, $"isolation probe: {f.Reason} fault at IOVA 0x{f.Iova:x} ({f.Flags})"));
                else r.Findings.Add(new Finding("iommu-fault", f.Device, f.Iova, $"{f.Reason} fault at IOVA 0x{f.Iova:x} ({f.Flags}) outside the probes"));
            }
            r.Findings.AddRange(core.Findings);
            core.Findings.Clear();
        }
        finally
        {
            foreach (var proc in procs)
            {
                foreach (var bo in proc.Bos) { core.Unmap(proc.Domain, bo.Iova, bo.Size); pa.FreePages(bo.Phys, bo.Order); }
                if (proc.Domain.AttachedGroups == 0) core.DomainFree(proc.Domain);
            }
            foreach (var g in groups) if (g.Owner == owner) core.ReleaseDmaOwner(g);
        }
        return r;

        ulong Granule(Process p) => IommuPgsize.MinPageSize(p.Domain.PgsizeBitmap);
    }

    static bool Free(IommuCore core, Process p)
    {
        core.DomainFree(p.Domain);
        return true;
    }

    /// <summary>Context switch: both engines leave the previous process's domain and join the next one's.</summary>
    static bool Switch(IommuCore core, List<IommuGroup> groups, IommuDomain? from, IommuDomain? to)
    {
        bool ok = true;
        foreach (var g in groups)
        {
            if (from is not null && g.Domain == from) core.DetachGroup(from, g);
            if (to is not null && core.AttachGroup(to, g) != 0) ok = false;
        }
        return ok;
    }

    static ulong Move(DmaTransferResult res, ref long faults)
    {
        if (!res.Ok) faults++;
        return res.Bytes;
    }

    static long Invalidations(IommuCore core)
    {
        long n = 0;
        foreach (var i in core.Instances) n += i.Hardware.Iotlb.Stats.InvalidationOps;
        return n;
    }

    /// <summary>The 2D and 3D engines (gpu-2d / gpu-3d behind the same IOMMU); failing that two probed devices of
    /// one IOMMU instance, or one device playing both engines.</summary>
    static (Device?, Device?, string) PickEngines(WorkloadContext ctx, IommuCore core)
    {
        bool Probed(Device d) => core.GetGroup(d) is not null;
        var e2d = ctx.FindDevice("gpu-2d");
        var e3d = ctx.FindDevice("gpu-3d");
        if (e2d is not null && e3d is not null && Probed(e2d) && Probed(e3d)
            && core.GetGroup(e2d)!.Instance == core.GetGroup(e3d)!.Instance) return (e2d, e3d, "");
        var probed = ctx.Devices.Where(Probed).OrderBy(d => d.Spec.Kind is "gpu" or "gpu-2d" or "gpu-3d" ? 0 : 1).ToList();
        foreach (var a in probed)
            foreach (var b in probed)
                if (a != b && core.GetGroup(a)!.Instance == core.GetGroup(b)!.Instance)
                    return (a, b, $"no gpu-2d/gpu-3d pair behind one IOMMU: {a.Name} and {b.Name} play the engines");
        if (probed.Count > 0) return (probed[0], probed[0], $"one IOMMU master only: {probed[0].Name} plays both engines");
        return (null, null, "no device behind a probed IOMMU: no engines for the DRM composite");
    }

    static WorkloadResult Skip(WorkloadResult r, string why)
    {
        r.Notes.Add("not run: " + why);
        return r;
    }
}
