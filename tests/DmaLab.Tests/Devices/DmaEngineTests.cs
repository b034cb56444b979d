using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Iommu;
using DmaLab.Iommu.PageTables;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Sim;
using DmaLab.Tests.Iommu;

namespace DmaLab.Tests.Devices;

public class DmaEngineTests
{
    sealed class Recorder : IDmaAccessObserver
    {
        public List<string> Log { get; } = new();
        public void OnDeviceRead(Device device, PhysAddr addr, ulong length) => Log.Add($"R {device.Name} {addr} {length}");
        public void OnDeviceWrite(Device device, PhysAddr addr, ulong length) => Log.Add($"W {device.Name} {addr} {length}");
    }

    [Fact]
    public void ScatteredPagesArriveWhereTheCpuPutThem()
    {
        var rig = new TestRig(TestRig.Platform1("ArmSmmuV3", devices: TestRig.Pci("0000:00:06.0")));
        var dev = rig.Devices[0];
        var dom = rig.Iommu.Info(dev).DefaultDomain!;
        // three physically scattered pages behind one contiguous IOVA range
        ulong[] pages = [0x8070_0000, 0x8012_3000, 0x8055_5000];
        for (int i = 0; i < pages.Length; i++)
            Assert.Equal(0, rig.Core.Map(dom, 0xfff0_0000 + (ulong)i * 4096, pages[i], 4096, IommuProt.Read | IommuProt.Write));
        var rec = new Recorder();
        var engine = DmaEngine.For(dev, rig.Iommu, rig.Memory, rig.Clock, rig.Costs, rec);
        var payload = Enumerable.Range(0, 3 * 4096 - 100).Select(i => (byte)(i ^ (i >> 8))).ToArray();
        Assert.Equal(DmaStatus.Ok, engine.Write(new DmaAddr(0xfff0_0000 + 50), payload).Status);
        var got = new byte[4096];
        rig.Memory.Read(new PhysAddr(pages[1]), got);
        Assert.Equal(payload.AsSpan(4096 - 50, 4096).ToArray(), got);
        Assert.Equal(3, rec.Log.Count);
        Assert.Equal($"W 0000:00:06.0 0x{pages[0] + 50:x} {4096 - 50}", rec.Log[0]);
        var back = new byte[payload.Length];
        Assert.True(engine.Read(new DmaAddr(0xfff0_0000 + 50), back).Ok);
        Assert.Equal(payload, back);
    }

    [Fact]
    public void TransferStopsAtTheFirstUnmappedPage()
    {
        var rig = new TestRig(TestRig.Platform1("IntelVtd", devices: TestRig.Pci("0000:00:04.0")));
        var dom = rig.Iommu.Info(rig.Devices[0]).DefaultDomain!;
        Assert.Equal(0, rig.Core.Map(dom, 0x1_0000, 0x8000_0000, 4096, IommuProt.Write));
        var r = rig.Engine("0000:00:04.0").Write(new DmaAddr(0x1_0000), new byte[8192]);
        Assert.Equal(DmaStatus.IommuFault, r.Status);
        Assert.Equal(4096UL, r.Bytes);
        Assert.Equal(0x1_1000UL, r.StopAddress);
    }

    [Fact]
    public void DirectDmaHonoursDmaRanges()
    {
        var spec = new DeviceSpec { Name = "emmc", DmaRanges = [new DmaRangeSpec { BusAddr = 0, CpuAddr = 0x8000_0000, Size = 0x1000_0000 }] };
        var dev = new Device(spec);
        var mem = new PhysicalMemory([new MemRange(new PhysAddr(0x8000_0000), 0x1000_0000)]);
        var engine = new DmaEngine(dev, new DirectTranslation(dev), mem, new SimClock(), new CostModel());
        mem.Write(new PhysAddr(0x8000_2000), [9, 8, 7]);
        var buf = new byte[3];
        Assert.True(engine.Read(new DmaAddr(0x2000), buf).Ok);
        Assert.Equal([9, 8, 7], buf);
        Assert.Equal(DmaStatus.NoRoute, engine.Read(new DmaAddr(0x1000_0000), buf).Status);
        var plain = new DmaEngine(new Device(new DeviceSpec { Name = "x" }), new DirectTranslation(new Device(new DeviceSpec())), mem, new SimClock(), new CostModel());
        Assert.Equal(DmaStatus.BusError, plain.Read(new DmaAddr(0x2000), buf).Status); // bus address = phys, not DRAM
    }

    [Fact]
    public void DeviceWithoutIommuUsesDirectTranslation()
    {
        var p = TestRig.Platform1("IntelVtd", devices: TestRig.Pci("0000:00:04.0"));
        p.Devices.Add(new DeviceSpec { Name = "0000:00:08.0", Bus = "pci", BusId = "0000:00:08.0" });
        var rig = new TestRig(p);
        Assert.IsType<DirectTranslation>(rig.Engine("0000:00:08.0").Translation);
        Assert.Equal(-Errno.ENODEV, rig.Iommu.Info(rig.Dev("0000:00:08.0")).ProbeResult);
    }
}
