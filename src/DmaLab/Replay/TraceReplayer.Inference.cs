using System.Numerics;
using System.Text.RegularExpressions;

namespace DmaLab.Replay;

public sealed partial class TraceReplayer
{
    [GeneratedRegex(@"^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")]
    private static partial Regex PciName();
    [GeneratedRegex(@"^[0-9a-f]+\.[A-Za-z0-9_-]+$")]
    private static partial Regex PlatformName();

    static string BusOf(string name) => PciName().IsMatch(name) ? "pci" : PlatformName().IsMatch(name) ? "platform" : "unknown";

    /// <summary>
    /// Which dma_map_ops each device used, judged from addresses alone (Linux: kernel/dma/mapping.c picks dma-direct
    /// unless the device has dma_map_ops; iommu-dma translates; swiotlb bounces through a pool and traces
    /// swiotlb_bounced first).
    /// </summary>
    InferredPlatform InferPlatform()
    {
        var reasons = new List<string>();
        var devices = new List<InferredDevice>();
        bool iommuEvents = _iommuMaps > 0 || _iommuUnmaps > 0;
        bool anyGroups = false, anyFaults = false, swiotlb = false, forced = false;
        long slotLo = -1, slotHi = -1;
        foreach (var d in _devices)
        {
            var why = new List<string>();
            string ops;
            long single = d.IdentityMaps + d.TranslatedMaps + d.BouncedMaps;
            if (d.IommuGroup is not null || d.AttachedToDomain) anyGroups = true;
            if (d.IoPageFaults > 0) anyFaults = true;
            if (d.SwiotlbBounces > 0) { swiotlb = true; forced |= d.SwiotlbForced; }
            if (d.SwiotlbSlotsLow >= 0)
            {
                if (slotLo < 0 || d.SwiotlbSlotsLow < slotLo) slotLo = d.SwiotlbSlotsLow;
                if (d.SwiotlbSlotsHigh > slotHi) slotHi = d.SwiotlbSlotsHigh;
            }
            if (d.BouncedMaps > 0 && d.TranslatedMaps == 0)
            {
                ops = "swiotlb";
                why.Add($"{d.BouncedMaps} of {single} mappings bounced (swiotlb_bounced{(d.SwiotlbForced ? " FORCE" : "")} before each)");
            }
            else if (d.TranslatedMaps > 0 && d.ConstantOffset is long off && d.IommuMaps == 0 && !iommuEvents)
            {
                ops = "dma-direct+offset";
                why.Add($"every mapping has dma_addr = phys_addr {(off < 0 ? "-" : "+")} 0x{(off < 0 ? 0 - (ulong)off : (ulong)off):x} (a dma-ranges offset)");
            }
            else if (d.TranslatedMaps > 0 || d.IommuMaps > 0)
            {
                ops = "iommu-dma";
                if (d.TranslatedMaps > 0) why.Add($"{d.TranslatedMaps} of {single} mappings have dma_addr != phys_addr");
                if (d.IommuMaps > 0) why.Add($"{d.IommuMaps} iommu:map events paired with its dma:* calls");
            }
            else if (d.IdentityMaps > 0)
            {
                ops = "dma-direct";
                why.Add($"all {d.IdentityMaps} mappings have dma_addr == phys_addr");
            }
            else if (d.Allocs > 0 && iommuEvents)
            {
                ops = "dma-direct";
                why.Add("its coherent allocations made no iommu:map");
            }
            else
            {
                ops = "unknown";
                why.Add("no mapping shows its address path");
            }
            if (d.IommuGroup is int g) why.Add($"in IOMMU group {g}");
            int? maskBits = d.DmaMask is ulong mask && mask != 0 && (mask & (mask + 1)) == 0 ? 64 - BitOperations.LeadingZeroCount(mask) : null;
            if (maskBits is not null) why.Add($"dma_mask 0x{d.DmaMask:x} from swiotlb_bounced");
            devices.Add(new InferredDevice
            {
                Name = d.Name,
                Bus = BusOf(d.Name),
                DmaOps = ops,
                MaskBits = maskBits,
                MinMaskBits = d.MaxDmaAddrEnd <= 1 ? 0 : 64 - BitOperations.LeadingZeroCount(d.MaxDmaAddrEnd - 1),
                IommuGroup = d.IommuGroup,
                DmaOffset = ops == "dma-direct+offset" ? d.ConstantOffset : null,
                Reasons = why,
            });
        }

        var opsSet = devices.Select(x => x.DmaOps).Where(o => o != "unknown").Distinct().ToList();
        string dmaOps = opsSet.Count == 0 ? "unknown" : opsSet.Count == 1 ? opsSet[0] : "mixed";
        bool iommu = iommuEvents || anyGroups || anyFaults || devices.Any(x => x.DmaOps == "iommu-dma");
        if (iommuEvents) reasons.Add($"{_iommuMaps} iommu:map and {_iommuUnmaps} iommu:unmap events");
        if (anyGroups) reasons.Add("iommu group/attach events name devices behind an IOMMU");
        if (swiotlb) reasons.Add($"swiotlb_bounced events{(forced ? " with FORCE (swiotlb=force)" : "")}");

        string kind = "none", description = "no IOMMU";
        if (iommu) (kind, description) = InferIommuKind(devices, reasons);
        string layout = "unknown";
        var overlapping = _devices.Where(x => x.IovaOverlapsOtherDevice).Select(x => x.Name).ToList();
        var translated = devices.Where(x => x.DmaOps == "iommu-dma").ToList();
        if (overlapping.Count > 0)
        {
            layout = "per-device";
            reasons.Add($"devices {string.Join(", ", overlapping)} used IOVAs another device had live at the same time: each has its own DMA domain");
        }
        else if (translated.Count > 1 && translated.All(x => x.IommuGroup is not null)
                 && translated.Select(x => x.IommuGroup).Distinct().Count() == translated.Count)
        {
            layout = "per-group";
            reasons.Add("each translated device is in its own IOMMU group");
        }
        else if (translated.Count == 1) layout = "per-device";

        return new InferredPlatform
        {
            DmaOps = dmaOps,
            Iommu = iommu,
            IommuKind = kind,
            IommuDescription = description,
            DomainLayout = iommu ? layout : "none",
            Swiotlb = swiotlb,
            SwiotlbForced = forced,
            SwiotlbSlotsLow = slotLo >= 0 ? (ulong)slotLo : null,
            SwiotlbSlotsHigh = slotHi >= 0 ? (ulong)slotHi : null,
            Devices = devices,
            UnpairedIommuMaps = _unpaired,
            UnpairedIommuMapCount = _unpairedCount,
            Reasons = reasons,
        };
    }

    /// <summary>
    /// The IOMMU family as far as the events prove it, and never further: the IOMMU's own device allocating its queues
    /// names it (an "...smmu..." or "dmar..." device); iommu:map events of the IOMMU layer itself next to dma:* calls are a
    /// software-managed MSI doorbell (IOMMU_RESV_SW_MSI: ARM SMMUs, or virtio-iommu without a PROBE MSI region); PCI
    /// devices whose dma:* mapping got the top page below 4 GiB, which such a doorbell would have taken first, sit
    /// behind an IOMMU with a hardware MSI window (IOMMU_RESV_MSI at 0xfee00000: VT-d, AMD-Vi, or virtio-iommu on
    /// x86), which these events cannot tell apart. Anything less is "unknown". The kernel log (--dmesg) names the
    /// family outright.
    /// </summary>
    (string Kind, string Description) InferIommuKind(List<InferredDevice> devices, List<string> reasons)
    {
        string? smmu = _devices.Select(x => x.Name).FirstOrDefault(n => n.Contains("smmu", StringComparison.OrdinalIgnoreCase));
        string? dmar = _devices.Select(x => x.Name).FirstOrDefault(n => n.Contains("dmar", StringComparison.OrdinalIgnoreCase));
        bool allPci = devices.Count > 0 && devices.All(x => x.Bus == "pci");
        if (smmu is not null)
        {
            bool v3 = smmu.Contains("v3", StringComparison.OrdinalIgnoreCase);
            reasons.Add($"device {smmu} is the SMMU itself (it allocates its queues through the DMA API)");
            if (_unpairedCount > 0 && _pairedIommuMaps > 0)
                reasons.Add($"{_unpairedCount} iommu:map event(s) with no dma:* call of the same task/CPU covering them (MSI doorbell)");
            return v3 ? ("arm-smmu-v3", "ARM SMMUv3") : ("arm-smmu", "ARM SMMU (v1/v2)");
        }
        if (dmar is not null)
        {
            reasons.Add($"device {dmar} is a VT-d DMA remapping unit");
            return ("intel-vtd", "Intel VT-d");
        }
        if (_pairedIommuMaps == 0)
        {
            reasons.Add("iommu:* events without dma:* calls (a kernel before 6.12): they do not show the IOMMU family (pass the kernel log with --dmesg)");
            return ("unknown", "an IOMMU of unknown family");
        }
        if (_unpairedCount > 0)
        {
            reasons.Add($"{_unpairedCount} IOVA(s) mapped by the IOMMU layer itself with no dma:* call (a software-managed MSI doorbell: ARM SMMU, or virtio-iommu without a PROBE MSI region); the family is not shown");
            return ("unknown", "an IOMMU with a software-managed MSI doorbell (ARM SMMU or virtio-iommu)");
        }
        if (allPci && _pairedTopPage)
        {
            reasons.Add("PCI devices only, and a dma:* mapping got IOVA 0xfffff000, which a software-managed MSI doorbell would have taken: a hardware MSI window, as on x86; VT-d, AMD-Vi and virtio-iommu look alike in these events (pass the kernel log with --dmesg)");
            return ("x86-unknown", "x86 IOMMU (VT-d, AMD-Vi or virtio-iommu)");
        }
        reasons.Add("the events do not show the IOMMU family (pass the kernel log with --dmesg)");
        return ("unknown", "an IOMMU of unknown family");
    }
}
