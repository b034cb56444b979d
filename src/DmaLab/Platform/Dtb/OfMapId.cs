namespace DmaLab.Platform.Dtb;

/// <summary>
/// Requester ID → IOMMU and ID through a PCI host bridge's iommu-map, as Linux's of_map_id() (drivers/of/base.c)
/// does for of_pci_iommu_init(): the RID is masked with iommu-map-mask, the first entry whose window holds it gives
/// IommuBase + (rid - RidBase). An entry whose rid-base has bits outside the mask makes the lookup fail; no match
/// means the device bypasses the IOMMU.
/// </summary>
public static class OfMapId
{
    public static bool TryMap(DeviceSpec hostBridge, uint rid, out string? iommu, out uint id)
    {
        ArgumentNullException.ThrowIfNull(hostBridge);
        uint mask = hostBridge.IommuMapMask;
        uint masked = rid & mask;
        foreach (var e in hostBridge.IommuMap)
        {
            if ((e.RidBase & ~mask) != 0) break;
            if (masked < e.RidBase || (ulong)masked >= (ulong)e.RidBase + e.Length) continue;
            iommu = e.Iommu;
            id = unchecked(masked - e.RidBase + e.IommuBase);
            return iommu is not null;
        }
        iommu = null;
        id = rid;
        return false;
    }
}
