using DmaLab.Iommu;
using DmaLab.Iommu.Drivers;
using DmaLab.Mm;

namespace DmaLab.Tests.Iommu;

/// <summary>The stream configuration the drivers write into simulated memory, decoded bit by bit against the specs.</summary>
public class StreamTableTests
{
    static ulong U64(TestRig rig, ulong a) { Assert.True(rig.Memory.TryReadU64(new PhysAddr(a), out var v)); return v; }

    /// <summary>VT-d spec §9.1 root entry (P, CTP) and §9.3 context entry (P, TT, SLPTPTR; AW, DID).</summary>
    [Fact]
    public void VtdRootAndContextEntries()
    {
        var rig = new TestRig(TestRig.Platform1("IntelVtd", devices: TestRig.Pci("0000:00:04.0")));
        var dom = rig.Iommu.Info(rig.Devices[0]).DefaultDomain!;
        var vtd = rig.Driver<IntelVtd>();
        ulong re = U64(rig, vtd.RootTable.Value);              // bus 0
        Assert.Equal(1UL, re & 1);
        ulong ce = (re & ~0xfffUL) + 0x20 * 16;                // devfn 04.0 = 0x20
        ulong lo = U64(rig, ce), hi = U64(rig, ce + 8);
        Assert.Equal(1UL, lo & 1);
        Assert.Equal(0UL, (lo >> 2) & 3);                      // TT = untranslated requests through second level
        Assert.Equal(dom.Pgtable!.Root.Value, lo & ~0xfffUL);
        Assert.Equal(1UL, hi & 7);                             // AW = 39-bit, 3-level (QEMU SAGAW)
        Assert.Equal((ulong)dom.HwTag, (hi >> 8) & 0xffff);
        Assert.Equal(IntelVtd.FirstDid, dom.HwTag);
    }

    /// <summary>SMMUv3 (IHI0070) §5.2 STE: V, Config = S1 translate, S1ContextPtr; §5.4 CD: V, AA64, ASID, TTB0.</summary>
    [Fact]
    public void SmmuV3SteAndContextDescriptor()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmuV3", devices: TestRig.Pci("0000:00:04.0")));
        var dom = rig.Iommu.Info(rig.Devices[0]).DefaultDomain!;
        var v3 = rig.Driver<ArmSmmuV3>();
        ulong l1 = U64(rig, v3.StreamTableBase.Value);         // sid 0x20 >> 8 = 0
        Assert.Equal(9UL, l1 & 0x1f);                          // Span = STRTAB_SPLIT + 1
        ulong ste0 = U64(rig, (l1 & 0x000f_ffff_ffff_ffc0UL) + 0x20 * 64);
        Assert.Equal(1UL, ste0 & 1);
        Assert.Equal(0b101UL, (ste0 >> 1) & 7);
        ulong cd = ste0 & 0x000f_ffff_ffff_ffc0UL;
        ulong cd0 = U64(rig, cd), ttb0 = U64(rig, cd + 8);
        Assert.Equal(1UL, (cd0 >> 31) & 1);
        Assert.Equal(1UL, (cd0 >> 41) & 1);
        Assert.Equal((ulong)dom.HwTag, cd0 >> 48);
        Assert.Equal(16UL, cd0 & 0x3f);                        // T0SZ = 64 - 48
        Assert.Equal(dom.Pgtable!.Root.Value, ttb0 & 0x000f_ffff_ffff_f000UL);
        Assert.True(v3.CommandCount(SmmuV3Opcode.CfgiSte) >= 1);
        Assert.True(v3.CommandCount(SmmuV3Opcode.CmdSync) >= 1);
    }

    /// <summary>AMD IOMMU spec §2.2.2 DTE: V, TV, Mode, root pointer, IR/IW; DomainID.</summary>
    [Fact]
    public void AmdDeviceTableEntry()
    {
        var rig = new TestRig(TestRig.Platform1("AmdIommu", devices: TestRig.Pci("0000:00:05.0")));
        var dom = rig.Iommu.Info(rig.Devices[0]).DefaultDomain!;
        ulong dte = rig.Driver<AmdIommu>().DeviceTable.Value + 0x28 * 32;
        ulong d0 = U64(rig, dte), d1 = U64(rig, dte + 8);
        Assert.Equal(3UL, d0 & 3);
        Assert.InRange((d0 >> 9) & 7, 1UL, 6UL);
        Assert.Equal(dom.Pgtable!.Root.Value, d0 & 0x000f_ffff_ffff_f000UL);
        Assert.Equal(3UL, (d0 >> 61) & 3);
        Assert.Equal((ulong)dom.HwTag, d1 & 0xffff);
        Assert.True(rig.Driver<AmdIommu>().InvalidateDteCmds >= 1);
    }
}
