using DmaLab.Trace;

namespace DmaLab.Replay;

public sealed partial class MachineReplayModel : ITraceEvidence
{
    /// <summary>Bounce evidence of one device: how its bounce addresses relate to the buffers' low bits.</summary>
    sealed class BounceEvidence
    {
        public ulong PendingPhys = ulong.MaxValue, PendingSize;
        /// <summary>Bounces that kept a non-zero page offset of the buffer (dma &amp; 0xfff == phys &amp; 0xfff != 0).</summary>
        public int KeptOffset;
        /// <summary>Sub-page (below 4 KiB) bounces whose slot address agrees with the buffer in bits 11..0.</summary>
        public int SmallAgree;
        /// <summary>Bounces whose bit 11 differs from the buffer's: the mask does not cover bit 11.</summary>
        public int Bit11Differs;
    }

    readonly Dictionary<string, BounceEvidence> _bounceEvidence = new(StringComparer.Ordinal);
    /// <summary>The slot address the trace's first bounced mapping reported (pool base inference).</summary>
    ulong _firstBounceSlot = ulong.MaxValue;

    /// <summary>Sub-page bounces that must keep the buffer's 4 KiB offset (with none differing in bit 11) before the
    /// mask is taken as 0xfff without a buffer that starts inside a page: with a 0 mask, sub-page bounces are placed
    /// at 2 KiB granularity (the search index moves slot by slot), so repeated page-aligned placements of sub-page
    /// buffers show the alignment.</summary>
    public const int SmallBouncesForPageMask = 2;

    /// <summary>Per device and CPU: the IOVA page and page count of the latest traced unmap (strict/lazy evidence).</summary>
    readonly Dictionary<(string Dev, int Cpu), (ulong Iova, ulong Pages, ulong Ns)> _lastUnmap = new();
    int _strictVotes, _lazyVotes;

    /// <summary>
    /// Strict or lazy (DMA_FQ) domains, from allocation behaviour (Linux: drivers/iommu/dma-iommu.c): in a strict domain
    /// an unmapped IOVA goes straight back to the CPU's rcache magazine, so the next mapping of the same size on that
    /// CPU gets that very IOVA; in a lazy domain it waits in the flush queue and the next mapping gets another one.
    /// Each first same-size map after an unmap votes; a platform's iommu.strict setting wins over the votes.
    /// </summary>
    bool InferLazy()
    {
        if (_opt.Strict is bool strict) return !strict;
        // An AMD-Vi reporting NpCache (a VM's) makes the driver strict whatever the command line (amd/init.c).
        if (_opt.Platform is { } p) return !p.Kernel.IommuStrict && !p.Iommus.Any(i => i.Enabled && i.NpCache && i.Model == "AmdIommu");
        return _lazyVotes > _strictVotes;
    }

    /// <summary>As traced, every translated device's default domain has the kernel's one policy (iommu.strict).</summary>
    public bool DefersFrees(string device) => _opt.Policy == ReplayPolicy.AsTraced ? InferLazy() : _opt.Policy == ReplayPolicy.Lazy;

    bool _iommuEventsSeen;

    void ObserveIommuOrder(TraceRecord r)
    {
        // Only translated traces have a policy to infer (and dma-direct ones keep their fast path).
        if (!_iommuEventsSeen)
        {
            if (r.Kind != TraceEventKind.IommuMap) return;
            _iommuEventsSeen = true;
        }
        if (r.Kind == TraceEventKind.DmaUnmapPhys && r.DmaAddr != ulong.MaxValue)
        {
            _lastUnmap[(r.Device, r.Cpu)] = (r.DmaAddr >> 12, ((r.DmaAddr & 0xFFF) + r.Size + 0xFFF) >> 12, r.TimestampNs);
            return;
        }
        if (r.Kind != TraceEventKind.DmaMapPhys || r.DmaAddr == ulong.MaxValue || r.DmaAddr == r.PhysAddr) return;
        if (!_lastUnmap.Remove((r.Device, r.Cpu), out var u)) return;
        ulong pages = ((r.DmaAddr & 0xFFF) + r.Size + 0xFFF) >> 12;
        if (pages != u.Pages || pages > 32) return; // only rcache-sized classes are handed out LIFO
        if (r.DmaAddr >> 12 != u.Iova) _lazyVotes++;
        // A reuse later than a flush-queue timer could have run says nothing about the policy: the timer waits at
        // least IOVA_DEFAULT_FQ_TIMEOUT (10 ms) whatever HZ is (msecs_to_jiffies rounds up, the wheel one tick more).
        else if (r.TimestampNs - u.Ns < 10_000_000UL) _strictVotes++;
    }

    public void Observe(TraceRecord r)
    {
        if (_opt.Policy != ReplayPolicy.AsTraced) return;
        ObserveIommuOrder(r);
        ObserveTimer(r);
        if (r.Kind == TraceEventKind.SwiotlbBounced)
        {
            if (!_bounceEvidence.TryGetValue(r.Device, out var e)) _bounceEvidence.Add(r.Device, e = new BounceEvidence());
            e.PendingPhys = r.PhysAddr;
            e.PendingSize = r.Size;
            return;
        }
        if (r.Kind != TraceEventKind.DmaMapPhys || r.DmaAddr == ulong.MaxValue) return;
        if (!_bounceEvidence.TryGetValue(r.Device, out var ev) || ev.PendingPhys != r.PhysAddr) return;
        ev.PendingPhys = ulong.MaxValue;
        ulong phys = r.PhysAddr, dma = r.DmaAddr;
        if (_firstBounceSlot == ulong.MaxValue) _firstBounceSlot = dma;
        if (((dma ^ phys) & 0x800) != 0) ev.Bit11Differs++;
        else if ((phys & 0xFFF) != 0 && (dma & 0xFFF) == (phys & 0xFFF)) ev.KeptOffset++;
        else if (r.Size < 0x1000 && (dma & 0xFFF) == (phys & 0xFFF)) ev.SmallAgree++;
    }

    /// <summary>
    /// min_align_mask from the bounce offsets in view (Linux: dma_set_min_align_mask(); NVMe sets
    /// NVME_CTRL_PAGE_SIZE - 1 = 0xfff): swiotlb keeps the buffer's low bits under the mask in the slot address.
    /// 0xfff when a bounce kept a buffer's non-zero page offset, or when at least
    /// <see cref="SmallBouncesForPageMask"/> sub-page bounces landed on their buffer's page offset; 0 (the kernel
    /// default) when any bounce's bit 11 differs from its buffer's, or without evidence. Re-evaluated at each bounce
    /// until decided.
    /// </summary>
    void ApplyMinAlignEvidence(Dev d)
    {
        if (d.MinAlignLearned || !_bounceEvidence.TryGetValue(d.Device.Name, out var e)) return;
        if (e.Bit11Differs > 0)
        {
            d.MinAlignLearned = true;
            d.Device.MinAlignMask = 0;
            return;
        }
        if (e.KeptOffset > 0 || e.SmallAgree >= SmallBouncesForPageMask)
        {
            d.MinAlignLearned = true;
            d.Device.MinAlignMask = 0xFFF;
            _notes.Add($"{d.Device.Name}: min_align_mask 0xfff inferred from its bounce offsets ({e.KeptOffset} kept a page offset, {e.SmallAgree} small bounces page-aligned like their buffers)");
        }
    }
}
