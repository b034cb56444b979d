using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;

namespace DmaLab.Tests.Dma;

/// <summary>
/// Golden test on the real capture tests/data/traces/qemu-vtd-swiotlb-sample.trace.xz: Linux 6.12.117 (Debian),
/// QEMU q35, 1 vCPU, 2 GiB, "intel_iommu=off swiotlb=force". Every streaming mapping bounces through the
/// default pool. The pool geometry comes from the capture's .platform.txt and kernel rules, not from the
/// mapping results: no swiotlb=&lt;size&gt; on the command line, so 64 MiB (IO_TLB_DEFAULT_SIZE); dmesg
/// "software IO TLB: area num 1." because nr_cpu_ids is 1; base 0x79a00000 is where memblock_alloc_low put it
/// (x86 does not print "mapped [mem ...]" here: x86_swiotlb_enable stays false with all RAM below 4 GiB, so
/// pci_iommu_init skips swiotlb_print_info); it is the capture's lowest bounce address and the first mapping
/// of a fresh pool lands on slot 0. Devices per the .platform.txt: 00:04.0 nvme (min_align_mask 4 KiB-1,
/// drivers/nvme/host/pci.c nvme_probe), 00:05.0 e1000e and 00:06.0 virtio-net (no min_align_mask); all PCI
/// devices have the 4 GiB-1 segment boundary (drivers/pci/probe.c pci_device_add) and a 64-bit mask.
/// </summary>
public class SwiotlbGoldenTests
{
    const string Trace = "traces/qemu-vtd-swiotlb-sample.trace.xz";

    sealed class PendingMap
    {
        public required SampleTraceLine Bounced;
        public required string Device;
        public required ulong Phys;
        public required ulong Size;
        public DmaDirection Dir;
        public DmaAttrs Attrs;
        public ulong Expected = ulong.MaxValue;
        public int ExpectedLine;
    }

    abstract record Op(SampleTraceLine Line);
    sealed record MapOp(SampleTraceLine Line, PendingMap Map) : Op(Line);
    sealed record UnmapPageOp(SampleTraceLine Line, string Device, ulong DmaAddr, ulong Size, DmaDirection Dir, DmaAttrs Attrs) : Op(Line);
    sealed record UnmapSgOp(SampleTraceLine Line, string Device, ulong[] Phys, DmaDirection Dir, DmaAttrs Attrs) : Op(Line);
    sealed record SgGroup(string Device, ulong[] Phys, List<PendingMap> Entries);

    /// <summary>
    /// Pairs each swiotlb_bounced with the dma_map_page / dma_map_sg entry that reports its result. The
    /// allocation itself happens right after the bounced event (swiotlb_map traces first, then searches), so
    /// the model maps at that point; an interrupt's unmap printed between the two lines came after the search.
    /// </summary>
    static (List<Op> Ops, List<PendingMap> Maps, List<SgGroup> Sgs) Plan(List<SampleTraceLine> lines)
    {
        var ops = new List<Op>();
        var maps = new List<PendingMap>();
        var sgs = new List<SgGroup>();
        var pending = new Dictionary<int, Queue<PendingMap>>();
        foreach (var l in lines)
        {
            var f = l.Fields;
            switch (l.Event)
            {
                case "swiotlb_bounced":
                {
                    var pm = new PendingMap
                    {
                        Bounced = l, Device = SwiotlbTestTrace.Device(f),
                        Phys = SampleTraceText.Hex(SampleTraceText.Field(f, "dev_addr")!),
                        Size = SampleTraceText.Dec(SampleTraceText.Field(f, "size")!),
                    };
                    if (!pending.TryGetValue(l.Cpu, out var q)) pending[l.Cpu] = q = new();
                    q.Enqueue(pm);
                    maps.Add(pm);
                    ops.Add(new MapOp(l, pm));
                    break;
                }
                case "dma_map_page":
                {
                    var q = pending[l.Cpu];
                    Assert.True(q.Count == 1, $"line {l.LineNo}: dma_map_page with {q.Count} pending swiotlb_bounced");
                    var pm = q.Dequeue();
                    Assert.Equal(SwiotlbTestTrace.Device(f), pm.Device);
                    Assert.Equal(SampleTraceText.Hex(SampleTraceText.Field(f, "phys_addr")!), pm.Phys);
                    Assert.Equal(SampleTraceText.Dec(SampleTraceText.Field(f, "size")!), pm.Size);
                    pm.Dir = SwiotlbTestTrace.Dir(f);
                    pm.Attrs = SwiotlbTestTrace.Attrs(f);
                    pm.Expected = SampleTraceText.Hex(SampleTraceText.Field(f, "dma_addr")!);
                    pm.ExpectedLine = l.LineNo;
                    break;
                }
                case "dma_map_sg":
                {
                    var q = pending[l.Cpu];
                    var dmas = SampleTraceText.HexArray(SampleTraceText.Field(f, "dma_addrs")!);
                    var phys = SampleTraceText.HexArray(SampleTraceText.Field(f, "phys_addrs")!);
                    var sizes = SampleTraceText.HexArray(SampleTraceText.Field(f, "sizes")!);
                    bool truncated = f.Contains("[TRUNCATED]", StringComparison.Ordinal);
                    var entries = new List<PendingMap>();
                    int n = q.Count;
                    Assert.True(truncated ? n >= dmas.Length : n == dmas.Length, $"line {l.LineNo}: {n} bounced for {dmas.Length} sg entries");
                    for (int i = 0; i < n; i++)
                    {
                        var pm = q.Dequeue();
                        pm.Dir = SwiotlbTestTrace.Dir(f);
                        pm.Attrs = SwiotlbTestTrace.Attrs(f);
                        if (i < dmas.Length)
                        {
                            Assert.Equal(phys[i], pm.Phys);
                            Assert.Equal(sizes[i], pm.Size);
                            pm.Expected = dmas[i];
                            pm.ExpectedLine = l.LineNo;
                        }
                        entries.Add(pm);
                    }
                    sgs.Add(new SgGroup(SwiotlbTestTrace.Device(f), entries.Select(e => e.Phys).ToArray(), entries));
                    break;
                }
                case "dma_unmap_page":
                    ops.Add(new UnmapPageOp(l, SwiotlbTestTrace.Device(f), SampleTraceText.Hex(SampleTraceText.Field(f, "dma_addr")!),
                        SampleTraceText.Dec(SampleTraceText.Field(f, "size")!), SwiotlbTestTrace.Dir(f), SwiotlbTestTrace.Attrs(f)));
                    break;
                case "dma_unmap_sg":
                    ops.Add(new UnmapSgOp(l, SwiotlbTestTrace.Device(f), SampleTraceText.HexArray(SampleTraceText.Field(f, "phys_addrs")!),
                        SwiotlbTestTrace.Dir(f), SwiotlbTestTrace.Attrs(f)));
                    break;
            }
        }
        Assert.All(pending.Values, q => Assert.Empty(q));
        return (ops, maps, sgs);
    }

    static Device PciDevice(string bdf, ulong minAlignMask) => new(new DeviceSpec
    {
        Name = bdf, Bus = "pci", DmaMask = 64, MinAlignMask = minAlignMask, SegmentBoundary = 0xffff_ffff,
    });

    [Fact]
    public void EveryBounceAddressMatchesTheKernel()
    {
        var lines = SwiotlbTestTrace.ReadXz(Trace);
        var (ops, maps, sgs) = Plan(lines);

        var memory = new PhysicalMemory([new MemRange(new PhysAddr(0), 0x8000_0000)]);
        var pool = SwiotlbBoot.CreateDefault(memory, new SwiotlbSpec { Mode = "force" }, new PhysAddr(0x79a0_0000),
            possibleCpus: 1, addressingLimited: false, out var dmesg)!;
        Assert.Contains("software IO TLB: area num 1.", dmesg);
        Assert.Equal(1, pool.Areas);
        Assert.Equal(32768UL, pool.TotalSlots);
        var sink = new CapturingTraceSink();
        pool.Trace = sink;

        var devices = new Dictionary<string, Device>
        {
            ["0000:00:04.0"] = PciDevice("0000:00:04.0", 0xfff),   // nvme
            ["0000:00:05.0"] = PciDevice("0000:00:05.0", 0),       // e1000e
            ["0000:00:06.0"] = PciDevice("0000:00:06.0", 0),       // virtio-net
        };
        foreach (var d in devices.Values) d.DmaIoTlbMem = pool;

        var ours = new Dictionary<PendingMap, DmaAddr>();
        var sgByMap = sgs.SelectMany(g => g.Entries.Select(e => (e, g))).ToDictionary(x => x.e, x => x.g);
        var liveSg = new List<SgGroup>();
        var mismatches = new List<string>();
        int compared = 0, unmappedPages = 0, unmappedSg = 0;

        foreach (var op in ops)
        {
            switch (op)
            {
                case MapOp m:
                {
                    var pm = m.Map;
                    var dev = devices[pm.Device];
                    var dma = dev.DmaIoTlbMem!.Map(dev, new PhysAddr(pm.Phys), pm.Size, pm.Dir, pm.Attrs, m.Line.Cpu);
                    ours[pm] = dma;
                    if (pm.Expected != ulong.MaxValue)
                    {
                        compared++;
                        if (dma.Value != pm.Expected)
                            mismatches.Add($"line {pm.ExpectedLine}: {pm.Device} phys 0x{pm.Phys:x} size {pm.Size}: kernel 0x{pm.Expected:x}, model {dma}");
                    }
                    if (sgByMap.TryGetValue(pm, out var g) && g.Entries[^1] == pm) liveSg.Add(g);
                    break;
                }
                case UnmapPageOp u:
                {
                    var dev = devices[u.Device];
                    Assert.True(dev.DmaIoTlbMem!.TblUnmapSingle(dev, new PhysAddr(u.DmaAddr), u.Size, u.Dir, u.Attrs),
                        $"line {u.Line.LineNo}: 0x{u.DmaAddr:x} is not a bounce buffer");
                    unmappedPages++;
                    break;
                }
                case UnmapSgOp u:
                {
                    // 6.12's dma_unmap_sg prints only the physical addresses: find the live sg by device + phys set.
                    int gi = liveSg.FindIndex(g => g.Device == u.Device && g.Phys.SequenceEqual(u.Phys));
                    Assert.True(gi >= 0, $"line {u.Line.LineNo}: dma_unmap_sg of an sg list never mapped");
                    var g = liveSg[gi];
                    liveSg.RemoveAt(gi);
                    var dev = devices[u.Device];
                    foreach (var e in g.Entries)
                        Assert.True(dev.DmaIoTlbMem!.TblUnmapSingle(dev, new PhysAddr(ours[e].Value), e.Size, u.Dir, u.Attrs));
                    unmappedSg++;
                    break;
                }
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {compared} bounce addresses differ; first: {string.Join("; ", mismatches.Take(5))}");
        Assert.Equal(maps.Count, compared);
        Assert.Equal(2446, compared);            // 825 dma_map_page + 1621 sg entries, all bounced
        Assert.Equal(332, unmappedPages);
        Assert.Equal(125, unmappedSg);
        Assert.Empty(pool.Failures);
        Assert.Empty(pool.Findings);
        Assert.Null(pool.Validate());

        // The model's swiotlb_bounced events are the kernel's lines, field for field.
        var kernelBounced = lines.Where(l => l.Event == "swiotlb_bounced").Select(l => l.Fields).ToList();
        Assert.Equal(kernelBounced, sink.Events.Select(e => e.Fields).ToList());
        Assert.All(sink.Events, e => Assert.Equal(("swiotlb", "swiotlb_bounced", 0), (e.System, e.Event, e.Cpu)));
    }
}
