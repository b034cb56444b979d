namespace DmaLab.Iommu.Drivers;

/// <summary>
/// Queued-invalidation descriptors (Intel VT-d spec rev 4.x §6.5.2; Linux: QI_CC_*, QI_IOTLB_*, QI_IWD_* in
/// include/linux/intel-iommu.h / drivers/iommu/intel/iommu.h). Each is 128 bits: (Lo, Hi).
/// </summary>
public static class VtdDescriptors
{
    public const int TypeContextCache = 0x1, TypeIotlb = 0x2, TypeWait = 0x5;
    /// <summary>Granularity field [5:4]: global, domain-selective, device/page-selective.</summary>
    public const int GranGlobal = 1, GranDomain = 2, GranSelective = 3;

    /// <summary>Context-cache invalidate: G [5:4], DID [31:16], SID [47:32], FM [49:48].</summary>
    public static (ulong Lo, ulong Hi) ContextCache(int gran, ushort did, ushort sid, int fm = 0)
        => ((ulong)TypeContextCache | ((ulong)gran << 4) | ((ulong)did << 16) | ((ulong)sid << 32) | ((ulong)fm << 48), 0);

    /// <summary>IOTLB invalidate: G [5:4], DW [6], DR [7], DID [31:16]; Hi: AM [5:0], IH [6], ADDR [63:12].</summary>
    public static (ulong Lo, ulong Hi) Iotlb(int gran, ushort did, ulong addr = 0, int am = 0, bool ih = false)
        => ((ulong)TypeIotlb | ((ulong)gran << 4) | (1UL << 6) | (1UL << 7) | ((ulong)did << 16),
            gran == GranSelective ? (addr & ~0xfffUL) | (ih ? 1UL << 6 : 0) | (uint)am : 0);

    /// <summary>Invalidation wait: IF [4], SW [5], FN [6], status data [63:32]; Hi: status address.</summary>
    public static (ulong Lo, ulong Hi) Wait(uint statusData, ulong statusAddr)
        => ((ulong)TypeWait | (1UL << 5) | ((ulong)statusData << 32), statusAddr & ~3UL);

    public static int TypeOf(ulong lo) => (int)(lo & 0xf);
}
