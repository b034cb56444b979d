using CsCheck;
using DmaLab.DmaIommu;
using DmaLab.Iova;
using DmaLab.Sim;

namespace DmaLab.Tests.DmaIommu;

/// <summary>
/// A rival of a lazy domain (<see cref="IovaDomain(IovaDomain)"/> and <see cref="FlushQueue.Rival"/>) is an exact copy:
/// fed the same operations afterwards, it gives the same IOVAs, releases and cache contents as the domain it was
/// copied from; and copying a rival's state back (<see cref="IovaDomain.CopyStateFrom"/>,
/// <see cref="FlushQueue.CopyStateFrom"/>) makes the domain continue exactly as the rival would.
/// </summary>
public class IovaRivalsTests
{
    sealed class NoFlush : IIotlbFlushAll
    {
        public void FlushIotlbAll() { }
    }

    // (op, size, cpu, pick): fast allocs, lazy unmaps one or all, a timer flush on a CPU, time passing (depot work),
    // tree allocs and frees, strict frees.
    static readonly Gen<(int Op, int Size, int Cpu, int Pick)[]> Ops =
        Gen.Select(Gen.Int[0, 11], Gen.Int[1, 40], Gen.Int[0, 1], Gen.Int[0, 1000]).Array[1, 2000];

    sealed class Side(IovaDomain iovad, FlushQueue fq, List<(ulong Pfn, ulong Pages)> live, List<ulong> tree)
    {
        public readonly IovaDomain Iovad = iovad;
        public readonly FlushQueue Fq = fq;
        public readonly List<(ulong Pfn, ulong Pages)> Live = live;
        public readonly List<ulong> Tree = tree;

        /// <summary>A rival of this side: copies of its domain, queue and live ranges.</summary>
        public Side Rival()
        {
            var iovad = new IovaDomain(Iovad);
            return new Side(iovad, Fq.Rival(iovad), new(Live), new(Tree));
        }

        /// <summary>One operation; what it observed (an IOVA, a depth, cache counts).</summary>
        public ulong Step((int Op, int Size, int Cpu, int Pick) s)
        {
            ulong size = s.Pick % 4 == 0 ? (ulong)s.Size : 1;
            switch (s.Op)
            {
                case <= 4:
                {
                    ulong pfn = Iovad.AllocIovaFast(s.Cpu, size, 0xfffff, true);
                    if (pfn != 0) Live.Add((pfn, size));
                    return pfn;
                }
                case 5:
                {
                    if (Live.Count == 0) return 1;
                    var (pfn, pages) = Live[s.Pick % Live.Count];
                    Live.RemoveAt(s.Pick % Live.Count);
                    Fq.QueueIova(s.Cpu, pfn, pages);
                    return (ulong)Fq.Depth << 32 | (uint)Iovad.RangeCount;
                }
                case 6: // now and then a burst of unmaps: full rings flush, magazines fill and swap, the depot grows
                    if (s.Pick % 100 != 0) return 4;
                    foreach (var (pfn, pages) in Live) Fq.QueueIova(s.Cpu, pfn, pages);
                    Live.Clear();
                    return (ulong)Fq.Depth << 32 | (uint)Iovad.CpuCachedCount(s.Cpu, 0);
                case 7:
                    Fq.FlushTimeout(s.Cpu);
                    return (ulong)Iovad.CpuCachedCount(s.Cpu, 0) << 32 | (uint)Iovad.RangeCount;
                case 8:
                    Iovad.RunDueWork();
                    return (ulong)Iovad.RangeCount;
                case 9:
                {
                    var r = Iovad.AllocIova(size, 0xfffff, s.Pick % 2 == 0);
                    if (!r.IsNull) Tree.Add(r.PfnLo);
                    return r.IsNull ? 0 : r.PfnLo;
                }
                case 10:
                {
                    if (Tree.Count == 0) return 2;
                    ulong pfn = Tree[s.Pick % Tree.Count];
                    Tree.RemoveAt(s.Pick % Tree.Count);
                    Iovad.FreeIova(pfn);
                    return Iovad.CachedNodePfnLo ^ Iovad.Cached32NodePfnLo << 1;
                }
                default:
                {
                    if (Live.Count == 0) return 3;
                    var (pfn, pages) = Live[s.Pick % Live.Count];
                    Live.RemoveAt(s.Pick % Live.Count);
                    Iovad.FreeIovaFast(s.Cpu, pfn, pages);
                    return (ulong)Iovad.LoadedCount(s.Cpu, 0) << 32 | (uint)Iovad.CpuCachedCount(s.Cpu, 1);
                }
            }
        }
    }

    static Side NewDomain(SimClock clock)
    {
        var iovad = new IovaDomain(4096, 0xff000, cpus: 2, clock);
        return new Side(iovad, new FlushQueue(iovad, new NoFlush(), clock, size: 16), new(), new());
    }

    /// <summary>Runs <paramref name="ops"/> on every side in step (time advances once per operation), returning each
    /// side's observations.</summary>
    static List<ulong>[] Run(SimClock clock, IEnumerable<(int Op, int Size, int Cpu, int Pick)> ops, params Side[] sides)
    {
        var logs = sides.Select(_ => new List<ulong>()).ToArray();
        foreach (var s in ops)
        {
            if (s.Op == 8) clock.Advance((ulong)s.Pick * 1_000_000);
            for (int i = 0; i < sides.Length; i++) logs[i].Add(sides[i].Step(s));
        }
        return logs;
    }

    [Fact]
    public void A_rival_fed_the_same_operations_gives_the_same_iovas_as_its_domain()
    {
        Gen.Select(Ops, Ops).Sample((before, after) =>
        {
            var clock = new SimClock();
            var main = NewDomain(clock);
            Run(clock, before, main);
            var rival = main.Rival();
            Assert.Null(rival.Iovad.Validate());
            var logs = Run(clock, after, main, rival);
            Assert.Equal(logs[0], logs[1]);
            Assert.Null(main.Iovad.Validate());
            Assert.Null(rival.Iovad.Validate());
        }, iter: 200);
    }

    [Fact]
    public void A_domain_that_takes_a_rivals_state_continues_as_the_rival_would()
    {
        Gen.Select(Ops, Ops, Gen.Int[0, 1]).Sample((before, after, cpu) =>
        {
            var clock = new SimClock();
            var main = NewDomain(clock);
            Run(clock, before, main);
            var rival = main.Rival();
            rival.Fq.FlushTimeout(cpu); // the rival's hypothesis: a flush the domain did not have
            var reference = rival.Rival();

            main.Iovad.CopyStateFrom(rival.Iovad);
            main.Fq.CopyStateFrom(rival.Fq);
            var adopted = new Side(main.Iovad, main.Fq, new(rival.Live), new(rival.Tree));
            var logs = Run(clock, after, adopted, reference);
            Assert.Equal(logs[1], logs[0]);
            Assert.Null(main.Iovad.Validate());
        }, iter: 200);
    }
}
