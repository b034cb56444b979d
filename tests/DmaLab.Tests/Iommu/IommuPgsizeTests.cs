using DmaLab.Devices;
using DmaLab.Iommu;
using DmaLab.Iommu.PageTables;

namespace DmaLab.Tests.Iommu;

/// <summary>Page-size splitting against hand-computed results of the kernel's iommu_pgsize() rules.</summary>
public class IommuPgsizeTests
{
    const ulong Lpae4K = 0x4020_1000; // 4K | 2M | 1G
    const ulong K4 = 0x1000, M2 = 0x20_0000;

    static List<(ulong Iova, ulong Pgsize, ulong Count)> Split(ulong bitmap, ulong iova, ulong paddr, ulong size)
    {
        var calls = new List<(ulong, ulong, ulong)>();
        while (size != 0)
        {
            ulong pg = IommuPgsize.Select(bitmap, iova, paddr, size, out ulong count);
            Assert.NotEqual(0UL, pg);
            calls.Add((iova, pg, count));
            iova += pg * count; paddr += pg * count; size -= pg * count;
        }
        return calls;
    }

    [Fact]
    public void TwoMegPlusFourKAtAlignedAddressesIsOneBlockThenOnePage()
        => Assert.Equal([(0x60_0000UL, M2, 1UL), (0x80_0000UL, K4, 1UL)], Split(Lpae4K, 0x60_0000, 0x8060_0000, M2 + K4));

    [Fact]
    public void SmallPagesUpToTheNextBlockBoundaryWhenOffsetsAgree()
        // iova 0x1000 / pa 0x201000 share their offset within 2M: 511 pages, a 2M block, then the 4K tail
        => Assert.Equal([(0x1000UL, K4, 511UL), (0x20_0000UL, M2, 1UL), (0x40_0000UL, K4, 1UL)], Split(Lpae4K, 0x1000, 0x20_1000, 0x40_0000));

    [Fact]
    public void DifferentOffsetsNeverUseBlocksAndMapInOneCall()
        => Assert.Equal([(0x20_0000UL, K4, 1024UL)], Split(Lpae4K, 0x20_0000, 0x20_1000, 0x40_0000));

    [Fact]
    public void SizeLimitsThePageSize()
        // 1G-aligned addresses but only 3 MiB: one 2M block, then 256 pages
        => Assert.Equal([(0x4000_0000UL, M2, 1UL), (0x4020_0000UL, K4, 256UL)], Split(Lpae4K, 0x4000_0000, 0x8000_0000, 3 * 0x10_0000));

    [Fact]
    public void ZeroAddressesAreAlignedToEverything()
        => Assert.Equal([(0UL, 1UL << 30, 1UL), (1UL << 30, M2, 1UL)], Split(Lpae4K, 0, 0, (1UL << 30) + M2));

    [Fact]
    public void ArmV7sSizesSplitBySectionAndLargePage()
    {
        const ulong v7s = 0x0111_1000; // 4K | 64K | 1M | 16M
        // 64K-aligned, 1M + 128K + 8K: offsets agree within 1M, so 64K pages until the 1M boundary first
        var calls = Split(v7s, 0xF_0000, 0x801F_0000, 0x12_2000);
        Assert.Equal([(0xF_0000UL, 0x1_0000UL, 1UL), (0x10_0000UL, 0x10_0000UL, 1UL), (0x20_0000UL, 0x1_0000UL, 1UL), (0x21_0000UL, K4, 2UL)], calls);
    }

    /// <summary>Through the core: the driver sees exactly the kernel's map_pages calls, and iommu:map reports the whole range.</summary>
    [Fact]
    public void CoreMapIssuesTheSplitCallsAndTracesOnce()
    {
        var trace = new ListTraceSink();
        var core = new IommuCore(new DmaLab.Platform.KernelOptionsSpec(), trace);
        var ops = new RecordingOps(Lpae4K);
        var dom = new IommuDomain(IommuDomainType.Unmanaged, ops) { PgsizeBitmap = Lpae4K };
        Assert.Equal(0, core.Map(dom, 0x60_0000, 0x8060_0000, M2 + K4, IommuProt.Read));
        Assert.Equal([(0x60_0000UL, 0x8060_0000UL, M2, 1UL), (0x80_0000UL, 0x8080_0000UL, K4, 1UL)], ops.Maps);
        Assert.Equal(["map: IOMMU: iova=0x0000000000600000 - 0x0000000000801000 paddr=0x0000000080600000 size=2101248"], trace.Lines);
        Assert.Equal(M2 + K4, core.Unmap(dom, 0x60_0000, M2 + K4));
        Assert.Equal([(0x60_0000UL, M2, 1UL), (0x80_0000UL, K4, 1UL)], ops.Unmaps);
        Assert.Equal("unmap: IOMMU: iova=0x0000000000600000 - 0x0000000000801000 size=2101248 unmapped_size=2101248", trace.Lines[^1]);
    }

    [Fact]
    public void UnalignedMapIsEinvalAndFailedMapIsUnwound()
    {
        var core = new IommuCore(new DmaLab.Platform.KernelOptionsSpec());
        var ops = new RecordingOps(Lpae4K) { FailAtCall = 1 };
        var dom = new IommuDomain(IommuDomainType.Unmanaged, ops) { PgsizeBitmap = Lpae4K };
        Assert.Equal(-Errno.EINVAL, core.Map(dom, 0x1234, 0x8000_0000, K4, IommuProt.Read));
        Assert.Single(core.Findings);
        Assert.Equal(-Errno.ENOMEM, core.Map(dom, 0x60_0000, 0x8060_0000, M2 + K4, IommuProt.Read));
        // the 2M block mapped by the first call is unmapped again
        Assert.Equal([(0x60_0000UL, M2, 1UL)], ops.Unmaps);
    }

    [Fact]
    public void MapSgMergesPhysicallyContiguousEntries()
    {
        var core = new IommuCore(new DmaLab.Platform.KernelOptionsSpec());
        var ops = new RecordingOps(Lpae4K);
        var dom = new IommuDomain(IommuDomainType.Unmanaged, ops) { PgsizeBitmap = Lpae4K };
        (ulong, ulong)[] sg = [(0x8000_0000, K4), (0x8000_1000, K4), (0x9000_0000, 2 * K4)];
        Assert.Equal(4 * (long)K4, core.MapSg(dom, 0x10_0000, sg, IommuProt.Read));
        Assert.Equal([(0x10_0000UL, 0x8000_0000UL, K4, 2UL), (0x10_2000UL, 0x9000_0000UL, K4, 2UL)], ops.Maps);
    }

    /// <summary>A driver that records map_pages/unmap_pages calls.</summary>
    sealed class RecordingOps(ulong bitmap) : IIommuOps
    {
        public List<(ulong Iova, ulong Paddr, ulong Pgsize, ulong Count)> Maps { get; } = new();
        public List<(ulong Iova, ulong Pgsize, ulong Count)> Unmaps { get; } = new();
        public int FailAtCall = -1;
        public string DriverName => "recording";
        public IommuDevice Instance => null!;
        public ulong PgsizeBitmap => bitmap;
        public bool Capable(Device dev, IommuCap cap) => false;
        public int ProbeDevice(Device dev, DevIommu state) => 0;
        public void ReleaseDevice(Device dev, DevIommu state) { }
        public IommuGroup? DeviceGroup(Device dev, IommuCore core) => null;
        public IommuDomainType? DefDomainType(Device dev) => null;
        public IommuDomain? DomainAlloc(IommuDomainType type, Device? dev) => null;
        public void DomainFree(IommuDomain domain) { }
        public int AttachDev(IommuDomain domain, Device dev) => 0;
        public int MapPages(IommuDomain d, ulong iova, ulong paddr, ulong pgsize, ulong pgcount, IommuProt prot, out ulong mapped)
        {
            if (Maps.Count == FailAtCall) { mapped = 0; return -Errno.ENOMEM; }
            Maps.Add((iova, paddr, pgsize, pgcount));
            mapped = pgsize * pgcount;
            return 0;
        }
        public ulong UnmapPages(IommuDomain d, ulong iova, ulong pgsize, ulong pgcount, ref IommuIotlbGather gather)
        {
            Unmaps.Add((iova, pgsize, pgcount));
            return pgsize * pgcount;
        }
        public int IotlbSyncMap(IommuDomain domain, ulong iova, ulong size) => 0;
        public void IotlbSync(IommuDomain domain, ref IommuIotlbGather gather) { }
        public void FlushIotlbAll(IommuDomain domain) { }
        public ulong IovaToPhys(IommuDomain domain, ulong iova) => 0;
        public void GetResvRegions(Device dev, List<ReservedRegion> regions) { }
    }
}
