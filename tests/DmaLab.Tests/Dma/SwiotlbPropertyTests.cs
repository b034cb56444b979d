using CsCheck;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Mm;
using static DmaLab.Tests.Dma.SwiotlbPoolTests;

namespace DmaLab.Tests.Dma;

/// <summary>
/// Random map/unmap sequences against a reference of what must hold: live allocations never share a slot,
/// each live bounce buffer still holds exactly its own bytes, the allocator's invariants
/// (<see cref="SwiotlbPool.Validate"/>) hold after every step, and releasing everything restores the boot-time
/// list counters, area counters and indices-independent state exactly.
/// </summary>
public class SwiotlbPropertyTests
{
    readonly record struct Op(bool Map, int Size, int Dev, int Cpu, int Dir, int Offset, int Pick);

    static readonly Gen<Op> OpGen =
        Gen.Select(Gen.Int[0, 9], Gen.OneOf(Gen.Int[1, 4096], Gen.Int[1, 64 * 1024], Gen.Int[1, 262144]),
                   Gen.Int[0, 2], Gen.Int[0, 3], Gen.Int[0, 2], Gen.Int[0, 4095], Gen.Int[0, 1000])
           .Select(t => new Op(t.Item1 < 6, t.Item2, t.Item3, t.Item4, t.Item5, t.Item6, t.Item7));

    // Each mapping's bytes are a window of this fixed buffer starting at its serial number, so contents differ.
    static readonly byte[] Noise = Enumerable.Range(0, 262144 + 4096).Select(i => (byte)(i * 2654435761u >> 24)).ToArray();

    sealed record Live(Device Dev, PhysAddr Orig, PhysAddr Tlb, int Size, DmaDirection Dir, long First, long Slots, byte Seed);

    [Fact]
    public void RandomMapUnmapNeverOverlapsAndFreeAllRestoresThePool()
    {
        OpGen.Array[1, 80].Sample(ops =>
        {
            var mem = Memory();
            var pool = Pool(mem, slots: 512, areas: 2);
            var fresh = pool.Slots.ToArray();
            Device[] devs = [Dev("0000:00:05.0"), Dev("0000:00:04.0", 0xfff), Dev("0000:00:06.0", 0x7ff)];
            var live = new List<Live>();
            int serial = 0;
            foreach (var op in ops)
            {
                if (op.Map || live.Count == 0)
                {
                    var dev = devs[op.Dev];
                    var orig = new PhysAddr(0x2000_0000 + (ulong)serial * 0x80000 + (ulong)op.Offset);
                    byte seed = (byte)serial++;
                    mem.Write(orig, Noise.AsSpan(seed, op.Size));
                    var dir = (DmaDirection)op.Dir;
                    var dma = pool.Map(dev, orig, (ulong)op.Size, dir, DmaAttrs.NoWarn, op.Cpu, out var tlb);
                    if (dma.IsError) continue;
                    uint off = Swiotlb.AlignOffset((uint)dev.MinAlignMask, 0, orig.Value);
                    Assert.Equal(orig.Value & dev.MinAlignMask, tlb.Value & dev.MinAlignMask);
                    long first = (long)((tlb.Value - off - PoolBase) >> Swiotlb.IoTlbShift);
                    long n = (long)Swiotlb.NrSlots((ulong)op.Size + off);
                    Assert.True(first >= 0 && first + n <= 512, $"allocation [{first}, +{n}) outside the pool");
                    Assert.True(first / 128 == (first + n - 1) / 128, $"allocation [{first}, +{n}) crosses a segment");
                    foreach (var l in live)
                        Assert.False(first < l.First + l.Slots && l.First < first + n, $"[{first}, +{n}) overlaps live [{l.First}, +{l.Slots})");
                    live.Add(new Live(dev, orig, tlb, op.Size, dir, first, n, seed));
                }
                else
                {
                    var l = live[op.Pick % live.Count];
                    live.Remove(l);
                    var back = new byte[l.Size];
                    mem.Read(l.Tlb, back);
                    Assert.True(back.AsSpan().SequenceEqual(Noise.AsSpan(l.Seed, l.Size)), $"bounce buffer of mapping {l.Seed} was overwritten");
                    Assert.True(pool.TblUnmapSingle(l.Dev, l.Tlb, (ulong)l.Size, l.Dir, 0));
                }
                Assert.Null(pool.Validate());
            }
            foreach (var l in live) pool.TblUnmapSingle(l.Dev, l.Tlb, (ulong)l.Size, l.Dir, 0);
            Assert.Null(pool.Validate());
            Assert.Equal(0UL, pool.Stats.UsedSlots);
            Assert.Equal(fresh, pool.Slots.ToArray());
            Assert.All(pool.AreaStates.ToArray(), a => Assert.Equal(0UL, a.Used));
            Assert.Empty(pool.Findings);
        }, iter: 100, threads: 1, seed: "0N0XIzNsQ0O2");
    }
}
