using DmaLab.Mm;

namespace DmaLab.Tests.Mm;

public class CpuCacheTests
{
    static (PhysicalMemory, CpuCache) Make(int capacity = 0)
    {
        var mem = new PhysicalMemory([new MemRange(new PhysAddr(0x8000_0000), 1 << 20)]);
        return (mem, new CpuCache(mem, 64, capacity, seed: 7));
    }

    static readonly PhysAddr A = new(0x8000_1000);

    [Fact]
    public void Device_read_of_dirty_line_is_stale_and_reported_with_address()
    {
        var (mem, c) = Make();
        c.CpuWrite(A + 0x40, [1, 2, 3, 4]);
        var dst = new byte[256];
        c.DeviceRead("isp", coherent: false, A, dst);
        Assert.Equal(0, dst[0x40]);                                   // memory still old
        var f = Assert.Single(c.Findings);
        Assert.Equal("stale-device-read", f.Kind);
        Assert.Equal(A.Value + 0x40, f.Address);
        Assert.Equal("isp", f.Device);
    }

    [Fact]
    public void Cpu_read_of_line_cached_before_device_write_is_stale_and_reported()
    {
        var (mem, c) = Make();
        var b = new byte[128];
        c.CpuRead(A, b);                                              // lines filled clean
        c.DeviceWrite("isp", false, A + 64, [9, 9, 9]);
        c.CpuRead(A + 64, b.AsSpan(0, 8));
        Assert.Equal(0, b[0]);
        var f = Assert.Single(c.Findings);
        Assert.Equal("stale-cpu-read", f.Kind);
        Assert.Equal(A.Value + 64, f.Address);
        Assert.Equal("isp", f.Device);
    }

    [Fact]
    public void Correct_maintenance_is_silent_and_both_sides_see_fresh_data()
    {
        var (mem, c) = Make();
        c.CpuWrite(A, [5, 6, 7]);
        c.Clean(A, 3);                                                // arch_sync_dma_for_device
        var d = new byte[3];
        c.DeviceRead("dev", false, A, d);
        Assert.Equal(new byte[] { 5, 6, 7 }, d);
        c.DeviceWrite("dev", false, A, [8, 8, 8]);
        c.Invalidate(A, 3);                                           // arch_sync_dma_for_cpu
        c.CpuRead(A, d);
        Assert.Equal(new byte[] { 8, 8, 8 }, d);
        Assert.Empty(c.Findings);
        c.Validate();
    }

    [Fact]
    public void Partial_line_invalidate_keeps_neighbour_dirty_bytes()
    {
        var (mem, c) = Make();
        c.CpuWrite(A, [1]);                                           // byte 0 dirty, buffer starts at +32
        c.Invalidate(A + 32, 64);                                     // first line partial: clean+invalidate
        var b = new byte[1];
        mem.Read(A, b);
        Assert.Equal(1, b[0]);
        Assert.Equal(CpuCacheLineState.Invalid, c.StateOf(A));
    }

    [Fact]
    public void Coherent_master_snoops_and_never_reports()
    {
        var (mem, c) = Make();
        c.CpuWrite(A, [4, 4]);
        var d = new byte[2];
        c.DeviceRead("nvme", true, A, d);
        Assert.Equal(new byte[] { 4, 4 }, d);
        c.DeviceWrite("nvme", true, A, [3, 3]);
        c.CpuRead(A, d);
        Assert.Equal(new byte[] { 3, 3 }, d);
        Assert.Empty(c.Findings);
    }

    [Fact]
    public void Eviction_with_capacity_is_deterministic_and_writes_back()
    {
        var (mem1, c1) = Make(capacity: 4);
        var (mem2, c2) = Make(capacity: 4);
        for (int i = 0; i < 16; i++) { c1.CpuWrite(A + (ulong)i * 64, [(byte)i]); c2.CpuWrite(A + (ulong)i * 64, [(byte)i]); }
        Assert.Equal(4, c1.LinesPresent);
        Assert.Equal(12, c1.Stats.Evictions);
        for (int i = 0; i < 16; i++) Assert.Equal(c1.StateOf(A + (ulong)i * 64), c2.StateOf(A + (ulong)i * 64));
        var b = new byte[1];
        for (int i = 0; i < 16; i++) { c1.CpuRead(A + (ulong)i * 64, b); Assert.Equal((byte)i, b[0]); }
        c1.Validate();
    }
}
