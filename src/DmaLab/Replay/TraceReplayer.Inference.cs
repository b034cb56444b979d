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

        string kind = "none";
        if (iommu)
        {
            string? smmu = _devices.Select(x => x.Name).FirstOrDefault(n => n.Contains("smmu", StringComparison.OrdinalIgnoreCase));
            string? dmar = _devices.Select(x => x.Name).FirstOrDefault(n => n.Contains("dmar", StringComparison.OrdinalIgnoreCase));
            bool allPci = devices.Count > 0 && devices.All(x => x.Bus == "pci");
            if (smmu is not null)
            {
                kind = smmu.Contains("v3", StringComparison.OrdinalIgnoreCase) ? "arm-smmu-v3" : "arm-smmu";
                reasons.Add($"device {smmu} is the SMMU itself (it allocates its queues through the DMA API)");
            }
            else if (dmar is not null)
            {
                kind = "intel-vtd";
                reasons.Add($"device {dmar} is a VT-d DMA remapping unit");
            }
            else if (_unpairedCount > 0)
            {
                kind = "arm-smmu";
                reasons.Add("IOVAs mapped by the IOMMU layer itself with no dma:* call (a software-managed MSI doorbell, as on ARM SMMU with a GIC ITS)");
            }
            else if (allPci)
            {
                kind = "intel-vtd";
                reasons.Add("only PCI devices and no software-managed MSI mapping (x86 interrupt remapping); VT-d and AMD-Vi look alike in these events, VT-d assumed");
            }
            else kind = "unknown";
            if (_unpairedCount > 0 && smmu is not null)
                reasons.Add($"{_unpairedCount} iommu:map event(s) with no dma:* call of the same task/CPU covering them (MSI doorbell)");
        }

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
}
