using DmaLab.Platform.KernelLog;
using DmaLab.Replay;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>Traces without dma:* events (kernels before 6.12) replayed at the IOMMU layer: domains found by the
/// allocator that predicts each IOVA, sg runs as one allocation, unmaps, leaks; the Linux 6.1 capture as golden.</summary>
public class IommuLayerReplayTests
{
    const string K61 = "qemu-vtd-strict-k61-sample.trace.xz";

    static ReplayReport Run(string text, ReplayRunOptions? o = null) =>
        ReplayRunner.Run(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), "t.trace", o);

    static string Map(int pid, double ts, ulong iova, ulong paddr, ulong size) =>
        $"           t-{pid}     [000] .....  {ts:0.000000}: map: IOMMU: iova=0x{iova:x16} - 0x{iova + size:x16} paddr=0x{paddr:x16} size={size}\n";
    static string Unmap(int pid, double ts, ulong iova, ulong size) =>
        $"           t-{pid}     [000] d.h1.  {ts:0.000000}: unmap: IOMMU: iova=0x{iova:x16} - 0x{iova + size:x16} size={size} unmapped_size={size}\n";

    [Fact]
    public void Two_domains_each_top_down_an_sg_run_as_one_allocation_and_strict_reuse()
    {
        string t = "# tracer: nop\n#\n# entries-in-buffer/entries-written: 9/9   #P:1\n"
            + Map(10, 1.0, 0xfffff000, 0x1000_0000, 0x1000)     // domain 1, first IOVA
            + Map(10, 1.1, 0xffffe000, 0x1000_1000, 0x1000)     // domain 1, next below
            + Map(20, 1.2, 0xfffff000, 0x2000_0000, 0x1000)     // a fresh domain: domain 1 would give 0xffffd000
            + Map(10, 1.3, 0xffff8000, 0x1000_8000, 0x2000)     // an sg list of 3 chunks: one 16 KiB allocation
            + Map(10, 1.3001, 0xffffa000, 0x1001_0000, 0x1000)
            + Map(10, 1.3002, 0xffffb000, 0x1002_0000, 0x1000)
            + Unmap(0, 1.4, 0xffff8000, 0x4000)
            + Map(10, 1.5, 0xffff8000, 0x1003_0000, 0x4000)     // strict: the freed IOVA comes straight back
            + Unmap(0, 1.6, 0xdead0000, 0x1000);                // nobody's
        var r = Run(t);
        Assert.Equal(7, r.Fidelity.Compared);
        Assert.Equal(7, r.Fidelity.Matched);
        var l = r.IommuLayer!;
        Assert.Equal(2, l.Domains.Count);
        Assert.Equal(6, l.Domains[0].MapEvents);
        Assert.Equal(4, l.Domains[0].Allocations);
        Assert.Equal(1, l.Domains[1].MapEvents);
        Assert.Equal(1, l.UnmatchedUnmaps);
        Assert.Equal(1, l.Invalidations);
        Assert.Equal(4, l.LiveMappingsAtEnd);
        Assert.Equal("0xffff8000", l.Domains[0].LiveIovaLow);
        Assert.Equal("unknown", r.Platform.IommuKind);
    }

    [Fact]
    public void A_map_no_domain_predicts_is_compared_and_not_matched()
    {
        string t = Map(10, 1.0, 0xfffff000, 0x1000_0000, 0x1000) + Map(10, 1.1, 0xabc00000, 0x1000_1000, 0x1000);
        var r = Run(t);
        Assert.Equal(2, r.Fidelity.Compared);
        Assert.Equal(1, r.Fidelity.Matched);
        Assert.Equal("0xabc00000", r.Fidelity.FirstMismatches[0].Expected);
    }

    [Fact]
    public void Linux_61_vtd_capture_golden()
    {
        using var log = File.OpenRead(TraceSamples.PathOf("qemu-vtd-strict-k61-sample.platform.txt"));
        var facts = KernelLogReader.Read(log, "k61.platform.txt");
        using var s = File.OpenRead(TraceSamples.PathOf(K61));
        var r = ReplayRunner.Run(s, K61, new ReplayRunOptions { KernelLog = facts });
        Assert.Equal(3020, r.Events["map"]);
        Assert.Equal(3020, r.Fidelity.Compared); // every map event
        Assert.Equal(3000, r.Fidelity.Matched);  // 99.3 %
        Assert.Equal("intel-vtd", r.Platform.IommuKind);
        var l = r.IommuLayer!;
        Assert.Contains("Linux 6.1", l.Rules);
        Assert.Contains("fixed depot of 32", l.Rules);
        Assert.Equal("strict", l.Policy);
        Assert.Equal(275, l.UnmapEvents);
        Assert.Equal(3, l.UnmatchedUnmaps);
        Assert.Equal(272, l.Invalidations);
        Assert.Equal(261, l.LiveMappingsAtEnd);
        Assert.Equal(2, l.Domains.Count);
        Assert.NotEmpty(l.Unknowable);
        Assert.Contains(r.Facts, f => f.Name == "kernel" && f.Value == "6.1.0-57-amd64" && f.Source == "log");

        // Without the log: the same replay, the family unknown and the version assumed.
        using var s2 = File.OpenRead(TraceSamples.PathOf(K61));
        var bare = ReplayRunner.Run(s2, K61);
        Assert.Equal(3000, bare.Fidelity.Matched);
        Assert.Equal("unknown", bare.Platform.IommuKind);
        Assert.Contains("before 6.12", bare.IommuLayer!.Rules);
    }

    [Fact]
    public void A_trace_with_dma_events_is_not_replayed_at_the_iommu_layer()
    {
        using var s = File.OpenRead(TraceSamples.PathOf(TraceSamples.VtdStrict));
        var r = ReplayRunner.Run(s, TraceSamples.VtdStrict);
        Assert.Null(r.IommuLayer);
        Assert.Equal(r.Fidelity.Compared, r.Fidelity.Matched);
    }
}
