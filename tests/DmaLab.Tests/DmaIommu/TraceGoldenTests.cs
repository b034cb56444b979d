using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.DmaIommu;
using DmaLab.Platform;

namespace DmaLab.Tests.DmaIommu;

/// <summary>
/// Golden tests against the real captures: each PCI device sits in its own DMA domain; every IOVA the kernel chose
/// (dma_map_page, dma_map_sg, dma_alloc) must come out of IommuDmaIovaAllocator + IovaDomain driven by the same
/// sequence of sizes, allocations and frees on the same CPU.
/// </summary>
public class TraceGoldenTests
{
    const ulong Pgsize4K2M1G = 0x1000 | 0x20_0000 | 0x4000_0000;

    sealed class Replay
    {
        public int Compared, SgCompared, MsiCompared, Reordered;
        public readonly List<string> Mismatches = new();
        public readonly Dictionary<string, IommuDmaIovaAllocator> Domains = new();
        public readonly Dictionary<string, IommuDmaMaster> Masters = new();
    }

    /// <summary>Drives one capture. <paramref name="setup"/> builds each device's domain as the kernel did at boot.</summary>
    static Replay Run(string trace, Func<string, IommuDmaIovaAllocator> setup, ulong msiDoorbell = 0)
    {
        var r = new Replay();
        var liveSg = new Dictionary<string, List<(ulong Iova, ulong Len)>>();
        string lastAttached = "";
        IommuDmaMaster Master(string dev)
        {
            if (!r.Masters.TryGetValue(dev, out var m))
            {
                var alloc = setup(dev);
                r.Domains[dev] = alloc;
                // Every traced PCI master sets a 64-bit streaming and coherent mask (nvme, e1000e, virtio-pci).
                m = alloc.Attach(new Device(new DeviceSpec { Name = dev, Bus = "pci", DmaMask = 64, MaxSegmentSize = 0xffff_ffff }));
                r.Masters[dev] = m;
            }
            return m;
        }
        void Check(TraceEvent e, ulong ours, ulong kernel)
        {
            r.Compared++;
            if (ours != kernel && r.Mismatches.Count < 10)
                r.Mismatches.Add($"line {e.Line} {e.Name} {e.Device} size={e.Size}: kernel 0x{kernel:x}, model 0x{ours:x}");
        }

        // Calls in the order they really allocated their IOVAs, and the owner of each MSI doorbell map (TraceSchedule).
        var order = TraceSchedule.Order(TraceSample.Events(trace), msiDoorbell, out int reordered);
        r.Reordered = reordered;
        foreach (var (e, msiOwner) in order)
        {
            Handle(e, msiOwner);
            if (e.Device.Length > 0 && r.Domains.TryGetValue(e.Device, out var d0) && d0.Iovad.Validate() is string bad)
                Assert.Fail($"after line {e.Line} ({e.Name}): {bad}\n" + string.Join("\n", r.Mismatches));
        }
        foreach (var d in r.Domains.Values) Assert.Null(d.Iovad.Validate());
        return r;

        void Handle(TraceEvent e, string? msiDevice = null)
        {
            if (e.Name == "attach_device_to_domain") { lastAttached = e.Device; return; }
            if (e.Name == "map")
            {
                string owner = msiDevice ?? lastAttached;
                if (msiDoorbell != 0 && e.Phys == (msiDoorbell & ~0xfffUL) && owner.Length > 0)
                {
                    var m = Master(owner);
                    ulong iova = r.Domains[owner].GetMsiPage(m, msiDoorbell, e.Cpu);
                    r.MsiCompared++;
                    Check(e, iova, e.Iova);
                    if (iova != 0xfffff000UL && r.Mismatches.Count < 10) r.Mismatches.Add($"line {e.Line}: MSI page at 0x{iova:x}");
                }
                return;
            }
            if (!e.Device.StartsWith("0000:", StringComparison.Ordinal)) return; // the SMMU's own untranslated allocations
            var master = Master(e.Device);
            var dom = r.Domains[e.Device];
            switch (e.Name)
            {
                case "dma_map_page":
                    Check(e, dom.MapPage(master, e.Phys, e.Size, master.Device.DmaMask, e.Cpu).Value, e.DmaAddr);
                    break;
                case "dma_unmap_page":
                case "dma_free":
                    dom.Unmap(new DmaAddr(e.DmaAddr), e.Size, e.Cpu);
                    break;
                case "dma_alloc":
                    Check(e, dom.AllocCoherent(master, e.Size, e.Cpu).Value, e.DmaAddr);
                    break;
                case "dma_map_sg":
                {
                    // One IOVA range for the list; every output segment but the last fills its granules, so the
                    // range is the granule-aligned span of each output segment (iommu_dma_map_sg's iova_len).
                    ulong len = 0;
                    for (int i = 0; i < e.DmaAddrs.Length; i++)
                        len += dom.Iovad.IovaAlign(dom.Iovad.IovaOffset(e.DmaAddrs[i]) + e.Sizes[i]);
                    ulong iova = dom.AllocIova(master, len, master.Device.DmaMask, e.Cpu);
                    r.SgCompared++;
                    Check(e, iova + dom.Iovad.IovaOffset(e.DmaAddrs[0]), e.DmaAddrs[0]);
                    ulong kernelSpan = e.DmaAddrs[^1] + e.Sizes[^1] - e.DmaAddrs[0];
                    if (dom.Iovad.IovaAlign(kernelSpan + dom.Iovad.IovaOffset(e.DmaAddrs[0])) != len && r.Mismatches.Count < 10)
                        r.Mismatches.Add($"line {e.Line}: sg total 0x{len:x} vs kernel span 0x{kernelSpan:x}");
                    string key = SgKey(e);
                    if (!liveSg.TryGetValue(key, out var stack)) liveSg[key] = stack = new();
                    stack.Add((iova, len));
                    break;
                }
                case "dma_unmap_sg":
                {
                    // 6.12 prints no dma_addr here: match the map by device and physical addresses.
                    var stack = liveSg[SgKey(e)];
                    var (iova, len) = stack[^1];
                    stack.RemoveAt(stack.Count - 1);
                    dom.FreeIova(iova, len, e.Cpu);
                    break;
                }
            }
        }
    }

    static string SgKey(TraceEvent e) => e.Device + ":" + string.Join(',', e.PhysAddrs.Order());

    [Fact]
    public void VtdStrictSampleReproducesEveryKernelIova()
    {
        var windows = TraceSample.PciMemWindows("qemu-vtd-strict-sample.platform.txt");
        Assert.Equal(4, windows.Count);
        var r = Run("qemu-vtd-strict-sample.trace.xz", dev =>
        {
            // VT-d, 39-bit guest address width (cap d2008c22260206: MGAW 39), 4K/2M/1G pages; one CPU.
            var a = new IommuDmaIovaAllocator(Pgsize4K2M1G, 0, (1UL << 39) - 1, cpus: 1);
            a.ReservePciWindows(windows);
            // intel_iommu_get_resv_regions(): the IOAPIC range is an IOMMU_RESV_MSI region.
            a.ReserveRegion(0xfee0_0000, 0x10_0000, hwMsi: true);
            return a;
        });
        Assert.True(r.Mismatches.Count == 0, string.Join("\n", r.Mismatches));
        Assert.Equal(840 + 139 + 12, r.Compared);
        Assert.Equal(139, r.SgCompared);
        Assert.Equal(3, r.Domains.Count);
        // Allocations replayed ahead of an interrupt that hit the mapping task (see Run).
        Assert.Equal(8, r.Reordered);
    }

    [Fact]
    public void SmmuV3StrictSampleReproducesEveryKernelIovaIncludingTheMsiPage()
    {
        var windows = TraceSample.PciMemWindows("qemu-smmuv3-strict-sample.platform.txt");
        Assert.Equal(2, windows.Count);
        // GICv3 ITS at 0x08080000: GITS_TRANSLATER sits at +0x10040, in the page 0x08090000.
        const ulong doorbell = 0x0808_0000 + 0x1_0040;
        var r = Run("qemu-smmuv3-strict-sample.trace.xz", dev =>
        {
            // SMMUv3 stage 1 with 48-bit VA (ias 44, VA_BITS 48), 4K/2M/1G pages, force_aperture; one CPU.
            var a = new IommuDmaIovaAllocator(Pgsize4K2M1G, 0, (1UL << 48) - 1, cpus: 1);
            a.ReservePciWindows(windows);
            return a;
        }, doorbell);
        Assert.True(r.Mismatches.Count == 0, string.Join("\n", r.Mismatches));
        Assert.Equal(3, r.MsiCompared);
        Assert.Equal(3, r.Domains.Count);
        foreach (var d in r.Domains.Values) Assert.Equal((0x0809_0000UL, 0xffff_f000UL), d.MsiPages[0]);
        Assert.True(r.SgCompared > 100);
        Assert.Equal(21, r.Reordered);
        Assert.Equal(989 + 3, r.Compared); // every dma_map_page, dma_map_sg and dma_alloc, plus 3 doorbell pages
    }
}
