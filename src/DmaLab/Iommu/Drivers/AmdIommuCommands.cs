using System.Numerics;

namespace DmaLab.Iommu.Drivers;

/// <summary>
/// AMD IOMMU command buffer entries (AMD IOMMU spec rev 3.x §2.4; Linux: drivers/iommu/amd/iommu.c build_*()).
/// Each command is four 32-bit words; the opcode is in word 1 bits 31:28.
/// </summary>
public static class AmdIommuCommands
{
    public const int CompletionWait = 0x01, InvalidateDevtabEntry = 0x02, InvalidateIommuPages = 0x03;
    /// <summary>Linux: CMD_INV_IOMMU_ALL_PAGES_ADDRESS.</summary>
    public const ulong AllPagesAddress = 0x7fff_ffff_ffff_f000UL;
    const uint SizeBit = 1, PdeBit = 2;

    public static (uint W0, uint W1, uint W2, uint W3) CompletionWaitCmd(ulong storeAddr, ulong data)
        => ((uint)(storeAddr & ~7UL) | 1, (uint)(storeAddr >> 32) | (CompletionWait << 28), (uint)data, (uint)(data >> 32));

    public static (uint W0, uint W1, uint W2, uint W3) InvalidateDte(ushort devid)
        => (devid, InvalidateDevtabEntry << 28, 0, 0);

    /// <summary>Linux: build_inv_iommu_pages(): domain ID in word 1, the encoded address (S, PDE bits) in words 2–3.</summary>
    public static (uint W0, uint W1, uint W2, uint W3) InvalidatePages(ushort domid, ulong iova, ulong size, bool pde)
    {
        ulong addr = InvAddress(iova, size);
        return (0, domid | ((uint)InvalidateIommuPages << 28), (uint)addr | (pde ? PdeBit : 0), (uint)(addr >> 32));
    }

    /// <summary>
    /// Linux: build_inv_address(): one page is its address; a larger range sets every bit below the most significant
    /// bit that differs between start and end, clears bits 11:0 and sets S; a range crossing bit 51 is "all pages".
    /// </summary>
    public static ulong InvAddress(ulong address, ulong size)
    {
        ulong pages = ((address & 0xfff) + size + 0xfff) >> 12;
        if (pages == 1) return address & ~0xfffUL;
        ulong end = address + size - 1;
        int msbDiff = 63 - BitOperations.LeadingZeroCount(end ^ address);
        if (msbDiff > 51) address = AllPagesAddress;
        else address |= (1UL << msbDiff) - 1;
        return (address & ~0xfffUL) | SizeBit;
    }

    /// <summary>The hardware's decoding of an INVALIDATE_IOMMU_PAGES address: with S set, the lowest clear bit at or
    /// above 12 marks the size (spec Table "Invalidation size encoding").</summary>
    public static (ulong Start, ulong Size) DecodeRange(ulong encoded)
    {
        ulong addr = encoded & ~0xfffUL;
        if ((encoded & SizeBit) == 0) return (addr, 4096);
        int zero = BitOperations.TrailingZeroCount(~(addr >> 12)) + 12;
        if (zero >= 63) return (0, ulong.MaxValue);
        ulong size = 1UL << (zero + 1);
        return (addr & ~(size - 1), size);
    }
}
