using System.Buffers.Binary;
using CsCheck;
using DmaLab.Platform.Dtb;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Platform.Dtb;

public class FdtReaderTests
{
    [Fact]
    public void SmallSocImportsEverything()
    {
        var imp = DtbImporter.Import(FdtBuilder.SmallSoc(), "small.dtb");
        var p = imp.Platform;
        Assert.Equal("Test SoC", p.Name);
        Assert.Equal((0x8000_0000UL, 0x4000_0000UL), (p.Memory[0].Base, p.Memory[0].Size));
        Assert.False(p.Kernel.IommuStrict);
        Assert.Equal(32UL << 20, p.Cma.DefaultSize);
        var cma = p.ReservedMemory.Single(r => r.Name == "/reserved-memory/linux,cma");
        Assert.True(cma.Reusable && cma.CmaDefault && cma.Base is null);
        Assert.Equal((0x200_0000UL, 0x40_0000UL), (cma.Size, cma.Alignment));
        Assert.Equal(0x4000_0000UL, cma.AllocRanges.Single().Size);
        Assert.Equal(0x8000_0000UL, p.ReservedMemory.Single(r => r.Name == "/memreserve/0").Base);

        var smmu = p.Iommus.Single();
        Assert.Equal(("1000.iommu", "ArmSmmu", 2, true), (smmu.Name, smmu.Model, smmu.Cells, smmu.CoherentWalk));
        var dma = p.Devices.Single(d => d.Path == "/soc/dma@2000");
        Assert.Equal("2000.dma", dma.Name);
        Assert.Equal(new uint[] { 0x3f_0400 }, dma.StreamIds); // SMR mask in bits 31:16
        Assert.Equal("/reserved-memory/linux,cma", dma.MemoryRegion);
        Assert.Contains("2000.dma", cma.Devices);
        // /soc dma-ranges: bus 0 → CPU 0x80000000 for 1 GiB; the bus limit narrows the 32-bit mask to 30 bits.
        var win = Assert.Single(dma.DmaRanges);
        Assert.Equal((0UL, 0x8000_0000UL, 0x4000_0000UL), (win.BusAddr, win.CpuAddr, win.Size));
        Assert.Equal(30, dma.DmaMask);
        Assert.Equal(0x3fff_ffffUL, dma.BusDmaLimit);
        Assert.False(dma.Coherent);
        var gpu = p.Devices.Single(d => d.Path == "/soc/gpu@3000");
        Assert.False(gpu.Enabled);
        Assert.Equal(new uint[] { 0x800, 0x801 }, gpu.StreamIds);
    }

    static DtbFormatException Fails(byte[] blob) => Assert.Throws<DtbFormatException>(() => FdtReader.Parse(blob));

    [Fact]
    public void HeaderErrorsNameTheOffset()
    {
        var good = FdtBuilder.SmallSoc();
        Assert.Contains("truncated header", Fails(good[..20]).Message);
        var bad = (byte[])good.Clone();
        bad[0] = 0;
        Assert.Equal(0, Fails(bad).Offset);
        bad = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(bad.AsSpan(20), 3);
        Assert.Equal(20, Fails(bad).Offset);
        var e = Fails(good[..(good.Length - 1)]);
        Assert.Contains("truncated", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void HugePropertyLengthIsRefused()
    {
        var blob = FdtBuilder.SmallSoc();
        int offStruct = (int)BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(8));
        // First token after the root's BEGIN_NODE and empty name is the #address-cells property.
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(offStruct + 8)));
        BinaryPrimitives.WriteUInt32BigEndian(blob.AsSpan(offStruct + 12), 0xffff_fff0);
        var e = Fails(blob);
        Assert.Equal(offStruct + 12, e.Offset);
        Assert.Contains("property length", e.Message);
    }

    [Fact]
    public void NestingIsBounded()
    {
        var f = new FdtBuilder().Begin("");
        for (int i = 0; i < 100; i++) f.Begin("n" + i);
        for (int i = 0; i < 100; i++) f.End();
        f.End();
        Assert.Contains("nested deeper", Fails(f.Build()).Message);
    }

    [Fact]
    public void StreamReadIsBounded()
    {
        var blob = FdtBuilder.SmallSoc();
        Assert.Equal("Test SoC", DtbImporter.Import(new MemoryStream(blob)).Platform.Name);
        Assert.Throws<DtbFormatException>(() => FdtReader.Read(new MemoryStream(blob), maxSize: 64));
    }

    /// <summary>Every prefix of a small tree, with its header's sizes patched to the cut, parses or fails cleanly.</summary>
    [Fact]
    public void CutAtEveryOffsetEndsInErrorOrValidTree()
    {
        var good = FdtBuilder.SmallSoc();
        for (int cut = 0; cut < good.Length; cut++)
        {
            var plain = good[..cut];
            Assert.Throws<DtbFormatException>(() => FdtReader.Parse(plain));
            if (cut < 40) continue;
            var patched = (byte[])plain.Clone();
            BinaryPrimitives.WriteUInt32BigEndian(patched.AsSpan(4), (uint)cut);
            uint offStruct = BinaryPrimitives.ReadUInt32BigEndian(patched.AsSpan(8));
            if (cut > offStruct) BinaryPrimitives.WriteUInt32BigEndian(patched.AsSpan(36), (uint)Math.Min(cut - offStruct, BinaryPrimitives.ReadUInt32BigEndian(patched.AsSpan(36))));
            ImportOrCleanError(patched);
        }
    }

    static void ImportOrCleanError(byte[] blob)
    {
        try
        {
            var imp = DtbImporter.Import(blob);
            _ = DtbReportJson.Serialize(imp.Report);
        }
        catch (DtbFormatException e)
        {
            Assert.DoesNotContain('\n', e.Message);
            Assert.InRange(e.Offset, 0, Math.Max(blob.Length, 1 << 30));
        }
    }

    [Fact]
    public void EveryBitFlipOfASmallTreeEndsInErrorOrValidTree()
    {
        var good = FdtBuilder.SmallSoc();
        for (int i = 0; i < good.Length; i++)
            for (int bit = 0; bit < 8; bit++)
            {
                var m = (byte[])good.Clone();
                m[i] ^= (byte)(1 << bit);
                ImportOrCleanError(m);
            }
    }

    [Fact]
    public void RandomMutationsOfTheSamplesNeverCrash()
    {
        var files = DtbSamples.Files.ToArray();
        var blobs = files.Select(DtbSamples.Load).ToArray();
        Gen.Select(Gen.Int[0, files.Length - 1], Gen.Int[0, int.MaxValue], Gen.Int[1, 8], Gen.Bool)
            .Sample((fi, seed, flips, huge) =>
            {
                var b = (byte[])blobs[fi].Clone();
                var rng = new Random(seed);
                for (int k = 0; k < flips; k++)
                {
                    int at = rng.Next(b.Length);
                    if (huge && at + 4 <= b.Length) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at & ~3), 0xffff_fff0u);
                    else b[at] ^= (byte)(1 << rng.Next(8));
                }
                ImportOrCleanError(b);
            }, iter: 150, seed: "0N0XIzNsQ0O2", threads: 1);
    }

    [Fact]
    public void PhandleCyclesDoNotHang()
    {
        // Two buses whose DMA parents point at each other through interconnects "dma-mem", a master that is its
        // own IOMMU, an iommus entry that names a node without #iommu-cells, and a dangling phandle.
        var f = new FdtBuilder();
        f.Begin("").Cells("#address-cells", 1).Cells("#size-cells", 1)
            .Begin("a").Cells("#interconnect-cells", 0).Str("interconnect-names", "dma-mem").Cells("interconnects", 2)
                .Cells("dma-ranges").Cells("phandle", 1).Cells("#address-cells", 1).Cells("#size-cells", 1)
                .Begin("dev@0").Cells("reg", 0, 4).Cells("iommus", 3, 7).Cells("dma-ranges", 0, 0, 0x1000).End()
            .End()
            .Begin("b").Cells("#interconnect-cells", 0).Str("interconnect-names", "dma-mem").Cells("interconnects", 1)
                .Cells("dma-ranges").Cells("phandle", 2).End()
            .Begin("self@1").Cells("reg", 1, 4).Cells("#iommu-cells", 1).Cells("iommus", 3, 5).Cells("phandle", 3)
                .Str("interconnect-names", "dma-mem").Cells("interconnects", 3).End()
            .Begin("x@2").Cells("reg", 2, 4).Cells("iommus", 1, 1).Cells("memory-region", 0x77).End()
        .End();
        var imp = DtbImporter.Import(f.Build());
        var self = imp.Report.Masters.Single(m => m.Path == "/self@1");
        Assert.Equal("/self@1", self.Iommu);
        Assert.Equal(new uint[] { 5 }, self.Ids);
        Assert.Equal(new uint[] { 7 }, imp.Report.Masters.Single(m => m.Path == "/a/dev@0").Ids);
        var x = imp.Report.Masters.Single(m => m.Path == "/x@2");
        Assert.Null(x.Iommu);
        Assert.Contains(imp.Report.Notes, n => n.Contains("/x@2") && n.Contains("#iommu-cells"));
        Assert.Equal("Unknown", imp.Report.Iommus.Single().Driver);
        Assert.Contains(imp.Report.Notes, n => n.StartsWith("warning:") && n.Contains("/self@1"));
    }

    /// <summary>Structurally valid trees with nonsense cell counts and property contents still import.</summary>
    [Fact]
    public void RandomCellCountsAndContentsNeverCrash()
    {
        var cellValues = Gen.Int[0, 7].Select(i => new[] { 0u, 1u, 2u, 3u, 4u, 5u, 0x4000_0001u, 0xffff_ffffu }[i]);
        var arr = Gen.UInt[0, 12].Array[0, 14];
        Gen.Select(cellValues.Array[6], arr.Array[6], Gen.Bool)
            .Sample((cells, props, pci) =>
            {
                var f = new FdtBuilder();
                f.Begin("").Cells("#address-cells", cells[0]).Cells("#size-cells", cells[1]).Cells("phandle", 1)
                    .Begin("memory@0").Str("device_type", "memory").Cells("reg", props[0]).End()
                    .Begin("reserved-memory").Cells("#address-cells", cells[0]).Cells("#size-cells", cells[1]).Flag("ranges")
                        .Begin("pool").Str("compatible", "shared-dma-pool").Cells("size", props[1]).Cells("alignment", props[2]).Cells("phandle", 5).End()
                    .End()
                    .Begin(pci ? "pcie@1" : "soc").Str("device_type", pci ? "pci" : "soc").Cells("#address-cells", cells[2]).Cells("#size-cells", cells[3])
                        .Cells("ranges", props[3]).Cells("dma-ranges", props[4]).Cells("iommu-map", props[5]).Cells("phandle", 2)
                        .Begin("iommu@0").Str("compatible", "arm,mmu-500").Cells("reg", props[0]).Cells("#iommu-cells", cells[4]).Cells("phandle", 3).End()
                        .Begin("dev@1").Cells("reg", props[1]).Cells("iommus", props[2]).Cells("memory-region", props[3])
                            .Cells("interconnects", props[4]).Str("interconnect-names", "dma-mem").Cells("#interconnect-cells", cells[5]).Cells("phandle", 4).End()
                    .End()
                .End();
                ImportOrCleanError(f.Build());
            }, iter: 300, threads: 1, seed: "0N0XIzNsQ0O2");
    }
}
