using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Iommu.Drivers;
using DmaLab.Iommu.PageTables;
using DmaLab.Platform;

namespace DmaLab.Tests.Iommu;

/// <summary>
/// The s390 zPCI IOMMU driver against drivers/iommu/s390-iommu.c (Linux 6.15): the DMA window zpci_init_iommu() and
/// s390_iommu_probe_device() compute, the reserved regions, shadow_on_flush, and where RPCITs (zpci_refresh_trans())
/// are issued: iotlb_sync, flush_iotlb_all, and iotlb_sync_map only for functions with tlb_refresh.
/// </summary>
public class S390IommuTests
{
    const ulong FourGiB = 1UL << 32, RtSize = 1UL << 42;
    const IommuProt Rw = IommuProt.Read | IommuProt.Write;

    static DeviceSpec Fn(string bdf, string iommu, ZpciSpec? z = null)
        => new() { Name = bdf, Bus = "pci", BusId = bdf, Iommu = iommu, DmaMask = 64, Coherent = true, Zpci = z };

    /// <summary>Two functions, each behind its own instance as Linux registers them: 0 with tlb_refresh, 1 without.</summary>
    static TestRig Rig(bool strict = true, ZpciSpec? first = null, ZpciSpec? second = null)
    {
        var p = TestRig.Platform1("S390Iommu", "ibm,zpci", kernel: k => k.IommuStrict = strict,
            devices: [Fn("0001:00:00.0", "iommu0", first ?? new ZpciSpec { Fid = 1, TlbRefresh = true }),
                      Fn("0002:00:00.0", "iommu1", second ?? new ZpciSpec { Fid = 2 })]);
        p.Iommus.Add(new IommuSpec { Name = "iommu1", Model = "S390Iommu", Compatible = "ibm,zpci" });
        return new TestRig(p);
    }

    [Fact]
    public void ProbeComputesTheWindowAsZpciInitIommuAndClampsIt()
    {
        var rig = Rig();
        var drv = rig.Driver<S390Iommu>();
        var dev = rig.Devices[0];
        Assert.Equal(0, rig.Iommu.Info(dev).ProbeResult);
        var f = drv.FunctionOf(dev)!.Value;
        // aperture = min3(memory size (high_memory = 0x9000_0000), ZPCI_TABLE_SIZE_RT - start, end - start + 1)
        Assert.Equal((FourGiB, FourGiB + TestRig.DramBase + TestRig.DramSize - 1), (f.StartDma, f.EndDma));
        Assert.Equal((1u, 0x8000_0001u, true), (f.Fid, f.Fh, f.TlbRefresh));
        Assert.True(rig.Core.Kernel.ForceDac);                          // s390_iommu_init(): iommu_dma_forcedac = true
        Assert.True(rig.Core.GetDevIommu(dev)!.ShadowOnFlush);
        Assert.False(rig.Core.GetDevIommu(rig.Devices[1])!.ShadowOnFlush);
        var dom = rig.Core.GetDefaultDomain(dev)!;
        Assert.Equal(new IommuDomainGeometry(0, RtSize - 1, true), dom.Geometry);
        Assert.Equal(0x1000UL, dom.PgsizeBitmap);
        Assert.Equal(IoPgtableFormat.S390, dom.Pgtable!.Format);
        Assert.Equal(dom.Pgtable.Root.Value | 0x804, f.Iota);            // registered at attach: RTTO designation
        // s390_iommu_get_resv_regions(): everything outside [start_dma, end_dma] up to ZPCI_TABLE_SIZE_RT
        var resv = rig.Core.GetResvRegions(dev);
        Assert.Contains(new ReservedRegion(0, FourGiB, IommuProt.None, ReservedRegionType.Reserved), resv);
        Assert.Contains(new ReservedRegion(f.EndDma + 1, RtSize - f.EndDma - 1, IommuProt.None, ReservedRegionType.Reserved), resv);
    }

    [Fact]
    public void ProbeRefusesWhatTheKernelRefuses()
    {
        // a window starting beyond the region-third table: -EINVAL; the start is PAGE_ALIGNed first
        var rig = Rig(first: new ZpciSpec { StartDma = RtSize + 0x800 }, second: new ZpciSpec { StartDma = 0x1_0000_0800, EndDma = 0x1_0010_ffff });
        Assert.Equal(-Errno.EINVAL, rig.Iommu.Info(rig.Devices[0]).ProbeResult);
        var f = rig.Driver<S390Iommu>(1).FunctionOf(rig.Devices[1])!.Value;
        Assert.Equal((0x1_0000_1000UL, 0x1_0010_ffffUL), (f.StartDma, f.EndDma));
        // a platform device is not a zPCI function
        var plat = new TestRig(TestRig.Platform1("S390Iommu", devices: TestRig.Plat("plat0", 1)));
        Assert.Equal(-Errno.ENODEV, plat.Core.ProbeDevice(plat.Devices[0]));
        Assert.Null(plat.Core.GetDevIommu(plat.Devices[0]));
    }

    [Fact]
    public void RpcitOnSyncAndFlushAllAndOnSyncMapOnlyWithTlbRefresh()
    {
        var rig = Rig();
        foreach (var (dev, idx, refresh) in new[] { (rig.Devices[0], 0, true), (rig.Devices[1], 1, false) })
        {
            var drv = rig.Driver<S390Iommu>(idx);
            var f = drv.FunctionOf(dev)!.Value;
            var dom = rig.Core.GetDefaultDomain(dev)!;
            ulong iova = f.StartDma + 0x10_0000;
            Assert.Equal(0, rig.Core.Map(dom, iova, 0x8010_0000, 0x4000, Rw));
            // s390_iommu_iotlb_sync_map(): the hypervisor learns of the new range only for tlb_refresh functions
            Assert.Equal(refresh ? 1 : 0, drv.SyncMapRpcits);
            Assert.Equal(refresh ? 1 : 0, drv.Rpcits);
            if (refresh) Assert.Equal(new S390Iommu.Rpcit(f.Fh, iova, 0x4000), drv.LastRpcit);
            Assert.Equal(4, drv.MappedPages);
            // iommu_unmap() → s390_iommu_iotlb_sync(): one RPCIT over the gathered range
            Assert.Equal(0x2000UL, rig.Core.Unmap(dom, iova + 0x1000, 0x2000));
            Assert.Equal(1, drv.SyncRpcits);
            Assert.Equal(new S390Iommu.Rpcit(f.Fh, iova + 0x1000, 0x2000), drv.LastRpcit);
            Assert.Equal(2, drv.UnmappedPages);
            // flush_iotlb_all → zpci_refresh_all(): the whole window
            IommuCore.FlushIotlbAll(dom);
            Assert.Equal(1, drv.GlobalRpcits);
            Assert.Equal(new S390Iommu.Rpcit(f.Fh, f.StartDma, f.EndDma - f.StartDma + 1), drv.LastRpcit);
            Assert.Equal(refresh ? 3 : 2, drv.Rpcits);
        }
    }

    [Fact]
    public void StaleTranslationSurvivesUntilTheRpcit()
    {
        var rig = Rig();
        var dev = rig.Devices[1];
        var f = rig.Driver<S390Iommu>(1).FunctionOf(dev)!.Value;
        var dom = rig.Core.GetDefaultDomain(dev)!;
        ulong iova = f.StartDma + 0x20_0000;
        Assert.Equal(0, rig.Core.Map(dom, iova, 0x8020_0000, 0x1000, Rw));
        var engine = rig.Engine(dev.Name);
        var buf = new byte[64];
        Assert.Equal(DmaLab.Devices.DmaStatus.Ok, engine.Read(new DmaAddr(iova), buf).Status);    // now in the IOTLB
        var gather = IommuIotlbGather.Init();
        Assert.Equal(0x1000UL, rig.Core.UnmapFast(dom, iova, 0x1000, ref gather));
        Assert.Equal(DmaLab.Devices.DmaStatus.Ok, engine.Read(new DmaAddr(iova), buf).Status);    // stale until refreshed
        IommuCore.IotlbSync(dom, ref gather);
        Assert.Equal(DmaLab.Devices.DmaStatus.IommuFault, engine.Read(new DmaAddr(iova), buf).Status);
        var drv = rig.Driver<S390Iommu>(1);
        Assert.Single(drv.ErrorEvents);
        Assert.Equal(IommuFaultReason.Translation, drv.ErrorEvents[0].Reason);
    }

    [Fact]
    public void DmaOutsideTheRegisteredWindowIsAnErrorEvenWhenMapped()
    {
        var rig = Rig();
        var dev = rig.Devices[1];
        var dom = rig.Core.GetDefaultDomain(dev)!;
        // the domain's aperture starts at 0, so the map succeeds; the function's IOAT starts at start_dma (4 GiB)
        Assert.Equal(0, rig.Core.Map(dom, 0x10_0000, 0x8030_0000, 0x1000, Rw));
        Assert.Equal(0x8030_0000UL, IommuCore.IovaToPhys(dom, 0x10_0000));
        var r = rig.Engine(dev.Name).Read(new DmaAddr(0x10_0000), new byte[16]);
        Assert.Equal(DmaLab.Devices.DmaStatus.IommuFault, r.Status);
        Assert.Equal(IommuFaultReason.AddressSize, rig.Driver<S390Iommu>(1).ErrorEvents[0].Reason);
        // s390_iommu_map_pages(): only 4 KiB pages, only inside the aperture
        Assert.Equal(-Errno.EINVAL, rig.Core.Map(dom, RtSize, 0x8030_0000, 0x1000, Rw));
    }

    [Fact]
    public void CapabilitiesFollowS390IommuCapable()
    {
        var rig = Rig(second: new ZpciSpec { Fid = 2, Ism = true });
        var drv0 = rig.Driver<S390Iommu>(0);
        var drv1 = rig.Driver<S390Iommu>(1);
        Assert.True(drv0.Capable(rig.Devices[0], IommuCap.CacheCoherency));
        Assert.True(drv0.Capable(rig.Devices[0], IommuCap.DeferredFlush));
        Assert.False(drv1.Capable(rig.Devices[1], IommuCap.DeferredFlush));     // ISM: no flush queue
        Assert.False(drv0.Capable(rig.Devices[0], IommuCap.NoExec));
    }
}
