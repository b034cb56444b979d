using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Workloads;

namespace DmaLab.Tests.Mm;

public class MemoryWorkloadTests
{
    static double Metric(DmaLab.Analysis.WorkloadResult r, string name) => r.Metrics.Single(m => m.Name == name).Value;

    [Fact]
    public void ZonePressureOnArm64RefFailsHighOrdersWithMemoryFreeAndRestoresBuddyinfo()
    {
        var mem = new MemorySystem(PlatformLoader.LoadBuiltIn("arm64-ref"));
        var r = ZonePressureWorkload.Run(mem, 1);
        Assert.True(Metric(r, "high-order-failures") > 0);
        Assert.True(Metric(r, "low-zone-free-when-fragmented") > Metric(r, "low-zone-managed-pages") / 4);
        Assert.Equal(1, Metric(r, "buddyinfo-restored"));
        Assert.Equal(0, Metric(r, "gfp-kernel-fallback-to-low-zones"));
    }

    [Fact]
    public void WorkloadsAreDeterministicWithTheSeed()
    {
        static MemorySystem Small()
        {
            var spec = MmTestPlatforms.SmallArm64(cmaSize: 16 * MmTestPlatforms.MiB);
            spec.Memory.Add(new MemorySpec { Base = 0x1_0000_0000, Size = 64 * MmTestPlatforms.MiB });
            return new MemorySystem(spec);
        }
        foreach (var run in new Func<MemorySystem, ulong, DmaLab.Analysis.WorkloadResult>[] { ZonePressureWorkload.Run, CmaPressureWorkload.Run })
        {
            var a = run(Small(), 5);
            var b = run(Small(), 5);
            Assert.Equal(a.Metrics, b.Metrics);
            Assert.Equal(a.Notes, b.Notes);
            Assert.NotEmpty(a.Metrics);
        }
    }

    [Fact]
    public void CmaPressureOnArm64RefMigratesAndKeepsBytes()
    {
        var mem = new MemorySystem(PlatformLoader.LoadBuiltIn("arm64-ref"));
        Assert.Equal(2, mem.CmaAreas.Count);
        Assert.Equal("reserved", mem.DefaultCmaName);
        var r = CmaPressureWorkload.Run(mem, 7);
        string all = string.Join(", ", r.Metrics.Select(m => $"{m.Name}={m.Value}")) + " | " + string.Join(" | ", r.Notes);
        Assert.True(Metric(r, "pages-migrated") > 0, all);
        Assert.Equal(0, Metric(r, "migrated-pages-corrupted"));
        Assert.True(Metric(r, "movable-pages-borrowing-cma") > 0);
        Assert.Equal(0, mem.PageAllocator.PagesInUse);
    }
}
