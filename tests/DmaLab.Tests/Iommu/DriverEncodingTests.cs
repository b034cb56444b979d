using DmaLab.Iommu.Drivers;

namespace DmaLab.Tests.Iommu;

/// <summary>Invalidation encodings against the kernel's rules (hand-computed).</summary>
public class DriverEncodingTests
{
    [Theory]
    [InlineData(0x1000UL, 0x1fffUL, 0x1000UL, 0)]       // one page
    [InlineData(0x0UL, 0x3fffUL, 0x0UL, 2)]             // 4 aligned pages
    [InlineData(0x3000UL, 0x4fffUL, 0x0UL, 3)]          // 2 pages straddling an 8-page boundary → mask 3 at 0
    [InlineData(0x20_0000UL, 0x3f_ffffUL, 0x20_0000UL, 9)]
    public void VtdPsiAlignedAddress(ulong start, ulong end, ulong addr, int mask)
        => Assert.Equal((addr, mask), IntelVtd.PsiAlignedAddress(start, end));

    [Fact]
    public void AmdInvalidationAddressEncodesAndDecodes()
    {
        Assert.Equal(0x5000UL, AmdIommuCommands.InvAddress(0x5000, 0x1000));
        // 0x4000..0x7fff: msb diff bit 13 → low bits set, S=1 → decodes to 16 KiB at 0x4000
        ulong enc = AmdIommuCommands.InvAddress(0x4000, 0x4000);
        Assert.Equal(0x5001UL, enc);
        Assert.Equal((0x4000UL, 0x4000UL), AmdIommuCommands.DecodeRange(enc));
        // 0x3000..0x4fff crosses 0x4000: covers 32 KiB at 0
        Assert.Equal((0x0UL, 0x8000UL), AmdIommuCommands.DecodeRange(AmdIommuCommands.InvAddress(0x3000, 0x2000)));
        Assert.Equal((0UL, ulong.MaxValue), AmdIommuCommands.DecodeRange(AmdIommuCommands.InvAddress(0, ulong.MaxValue)));
    }

    [Fact]
    public void SmmuV3CommandEncoding()
    {
        var (d0, d1) = new SmmuV3Command(SmmuV3Opcode.TlbiNhVa, 0, 5, 0x1234_5000, true).Encode();
        Assert.Equal(0x12UL | (5UL << 48), d0);
        Assert.Equal(0x1234_5001UL, d1);
        Assert.Equal((0x03UL | (0x20UL << 32), 1UL), new SmmuV3Command(SmmuV3Opcode.CfgiSte, 0x20, 0, 0, true).Encode());
    }
}
