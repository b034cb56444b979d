using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.DmaIommu;

/// <summary>
/// Golden full-stack replays: the DMA-API calls of the real VT-d and SMMUv3 captures go through
/// <see cref="Machine"/> → DmaMapping → iommu-dma → IOMMU core page tables on a platform built like the captured VM,
/// and every dma_addr (dma_map_page, every dma_map_sg segment, dma_alloc, and the MSI doorbell page) must be the
/// kernel's. The call order is the one <see cref="TraceSchedule"/> recovers (allocations that ran before an
/// interrupt traced in between).
/// </summary>
public class FullStackTraceGoldenTests
{
    sealed class Result
    {
        public int Compared, SgSegments, Msi;
        public readonly List<string> Mismatches = new();
        public void Check(TraceEvent e, ulong ours, ulong kernel, string what = "")
        {
            Compared++;
            if (ours != kernel && Mismatches.Count < 10)
                Mismatches.Add($"line {e.Line} {e.Name}{what} {e.Device} size={e.Size}: kernel 0x{kernel:x}, model 0x{ours:x}");
        }
    }

    static Result Replay(Machine m, string trace, ulong msiDoorbell = 0)
    {
        var r = new Result();
        var allocs = new Dictionary<(string, ulong), CpuAddr>();
        var liveSg = new Dictionary<string, List<(Scatterlist Sg, int Nents)>>();
        string lastAttached = "";
        foreach (var (e, msiOwner) in TraceSchedule.Order(TraceSample.Events(trace), msiDoorbell))
        {
            if (e.Name == "attach_device_to_domain") { lastAttached = e.Device; continue; }
            if (e.Name == "map")
            {
                string owner = msiOwner ?? lastAttached;
                if (msiDoorbell != 0 && e.Phys == (msiDoorbell & ~0xfffUL) && owner.Length > 0)
                {
                    r.Msi++;
                    r.Check(e, m.IommuDma.PrepareMsi(m.Device(owner), new PhysAddr(msiDoorbell), e.Cpu), e.Iova, " (MSI doorbell)");
                }
                continue;
            }
            if (!e.Device.StartsWith("0000:", StringComparison.Ordinal)) continue;   // the SMMU's own, untranslated
            var dev = m.Device(e.Device);
            int cpu = e.Cpu;
            switch (e.Name)
            {
                case "dma_map_page":
                    r.Check(e, m.Dma.MapPage(cpu, dev, new PhysAddr(e.Phys), e.Size, DmaDirection.Bidirectional).Value, e.DmaAddr);
                    break;
                case "dma_unmap_page":
                    m.Dma.UnmapPage(cpu, dev, new DmaAddr(e.DmaAddr), e.Size, DmaDirection.Bidirectional);
                    break;
                case "dma_alloc":
                {
                    var va = m.Dma.AllocAttrs(cpu, dev, e.Size, out var h, Gfp.Kernel);
                    r.Check(e, h.Value, e.DmaAddr);
                    allocs[(e.Device, h.Value)] = va;
                    break;
                }
                case "dma_free":
                    if (allocs.Remove((e.Device, e.DmaAddr), out var cpuAddr))
                        m.Dma.FreeAttrs(cpu, dev, e.Size, cpuAddr, new DmaAddr(e.DmaAddr));
                    break;
                case "dma_map_sg":
                {
                    var sg = BuildSg(e);
                    int ents = m.Dma.MapSg(cpu, dev, sg, sg.Nents, DmaDirection.Bidirectional);
                    r.Check(e, (ulong)ents, (ulong)e.DmaAddrs.Length, " (ents)");
                    for (int i = 0; i < Math.Min(ents, e.DmaAddrs.Length); i++)
                    {
                        r.SgSegments++;
                        r.Check(e, sg[i].DmaAddress.Value, e.DmaAddrs[i], $"[{i}]");
                        r.Check(e, sg[i].DmaLength, e.Sizes[i], $"[{i}].len");
                    }
                    string key = SgKey(e);
                    if (!liveSg.TryGetValue(key, out var stack)) liveSg[key] = stack = new();
                    stack.Add((sg, sg.Nents));
                    break;
                }
                case "dma_unmap_sg":
                {
                    var stack = liveSg[SgKey(e)];
                    var (sg, nents) = stack[^1];
                    stack.RemoveAt(stack.Count - 1);
                    m.Dma.UnmapSg(cpu, dev, sg, nents, DmaDirection.Bidirectional);
                    break;
                }
            }
        }
        foreach (var c in m.IommuDma.Cookies) Assert.Null(c.Allocator.Iovad.Validate());
        return r;
    }

    /// <summary>
    /// The input scatterlist of a traced dma_map_sg: 6.12 prints the input pages but only the merged output lengths.
    /// Inputs merged into one output segment all but the last fill their page (that is what lets __finalise_sg merge
    /// them), so each takes the rest of its page and the last the remainder.
    /// </summary>
    static Scatterlist BuildSg(TraceEvent e)
    {
        var sg = new Scatterlist(Math.Max(1, e.PhysAddrs.Length));
        sg.Init(e.PhysAddrs.Length);
        int input = 0;
        for (int o = 0; o < e.Sizes.Length; o++)
        {
            ulong left = e.Sizes[o];
            while (true)
            {
                ulong phys = e.PhysAddrs[input];
                ulong rest = 0x1000 - (phys & 0xfff);
                bool last = o == e.Sizes.Length - 1 ? input == e.PhysAddrs.Length - 1 : left <= rest;
                ulong len = last ? left : rest;
                sg.SetPhys(input++, new PhysAddr(phys), (uint)len);
                left -= len;
                if (last || left == 0) break;
            }
        }
        Assert.Equal(e.PhysAddrs.Length, input);
        return sg;
    }

    static string SgKey(TraceEvent e) => e.Device + ":" + string.Join(',', e.PhysAddrs.Order());

    [Fact]
    public void VtdStrictCaptureReplaysThroughTheMachineWithTheKernelsAddresses()
    {
        var spec = PlatformLoader.LoadBuiltIn("x86-q35");
        spec.Cpus = 1;                                   // the capture ran on one CPU
        var windows = TraceSample.PciMemWindows("qemu-vtd-strict-sample.platform.txt");
        var m = Machine.Boot(spec, new MachineOptions { Policy = IommuPolicy.Strict, PciMemWindows = windows });
        var r = Replay(m, "qemu-vtd-strict-sample.trace.xz");
        Assert.True(r.Mismatches.Count == 0, string.Join("\n", r.Mismatches));
        Assert.True(r.SgSegments >= 139);
        Assert.True(r.Compared > 840 + 139 + 12);
        // each traced device in its own DMA domain (per-device policy): three distinct cookies
        Assert.Equal(3, new[] { "0000:00:04.0", "0000:00:05.0", "0000:00:06.0" }.Select(n => m.IommuDma.StateOf(m.Device(n))!.Cookie).Distinct().Count());
    }

    [Fact]
    public void SmmuV3StrictCaptureReplaysThroughTheMachineIncludingTheMsiPage()
    {
        var spec = new PlatformSpec
        {
            Name = "qemu-virt-smmuv3", Arch = "arm64", Cpus = 1,
            Memory = { new MemorySpec { Base = 0x4000_0000, Size = 2UL << 30 } },
            Kernel = new KernelOptionsSpec { IommuStrict = true },
            Iommus = { new IommuSpec { Name = "smmuv3", Model = "ArmSmmuV3", Compatible = "arm,smmu-v3", Ias = 44, Oas = 44 } },
        };
        // nvme sets dma_set_max_seg_size(0xffffffff); e1000e and virtio-net keep the 64 KiB default
        foreach (var name in new[] { "0000:00:04.0", "0000:00:05.0", "0000:00:06.0" })
            spec.Devices.Add(new DeviceSpec { Name = name, Bus = "pci", DmaMask = 64, Coherent = true, Iommu = "smmuv3",
                MaxSegmentSize = name == "0000:00:04.0" ? 0xffff_ffffUL : 65536 });
        var windows = TraceSample.PciMemWindows("qemu-smmuv3-strict-sample.platform.txt");
        var m = Machine.Boot(spec, new MachineOptions { PciMemWindows = windows });
        // GICv3 ITS GITS_TRANSLATER: 0x08080000 + 0x10040
        var r = Replay(m, "qemu-smmuv3-strict-sample.trace.xz", 0x0808_0000 + 0x1_0040);
        Assert.True(r.Mismatches.Count == 0, string.Join("\n", r.Mismatches));
        Assert.Equal(3, r.Msi);
        Assert.True(r.SgSegments > 100);
        foreach (var c in m.IommuDma.Cookies) Assert.Equal((0x0809_0000UL, 0xffff_f000UL), c.Allocator.MsiPages[0]);
    }
}
