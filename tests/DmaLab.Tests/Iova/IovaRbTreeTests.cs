using CsCheck;
using DmaLab.Iova;

namespace DmaLab.Tests.Iova;

/// <summary>
/// The range tree against a sorted set: random inserts and erases of disjoint ranges, checking after each step the
/// red-black invariants, the prev/next threads, the pfn_lo index and lookups by any pfn (inside a range, at its
/// start, or in a hole), and that handles are reused through the free list.
/// </summary>
public class IovaRbTreeTests
{
    [Fact]
    public void MatchesASortedSetUnderRandomInsertsAndErases()
    {
        // (insert?, slot, pfn probe): slots are 8-pfn cells so ranges of 1..8 pages never overlap.
        Gen.Select(Gen.Bool, Gen.Int[0, 300], Gen.Int[0, 2500], Gen.Int[1, 8]).Array[1, 400].Sample(steps =>
        {
            var tree = new IovaRbTree(capacity: 4); // small, so the node array and the buckets grow mid-run
            var model = new SortedDictionary<ulong, (ulong Hi, int Node)>();
            foreach (var (insert, slot, probe, pages) in steps)
            {
                ulong lo = (ulong)slot * 8;
                if (insert && !model.ContainsKey(lo))
                {
                    int n = tree.AllocNode(lo, lo + (ulong)pages - 1);
                    Assert.True(tree.Insert(n, IovaRbTree.Nil));
                    model[lo] = (lo + (ulong)pages - 1, n);
                    int dup = tree.AllocNode(lo, lo);
                    Assert.False(tree.Insert(dup, IovaRbTree.Nil)); // same pfn_lo: refused, node left unlinked
                    Assert.False(tree.IsLinked(dup));
                    tree.FreeNode(dup);
                }
                else if (!insert && model.Count > 0)
                {
                    var (key, (_, node)) = model.ElementAt(slot % model.Count);
                    tree.Erase(node);
                    tree.FreeNode(node);
                    model.Remove(key);
                }
                Assert.Null(tree.Validate());
                Assert.Equal(model.Count, tree.Count);
                ulong pfn = (ulong)probe;
                var hit = model.Where(kv => kv.Key <= pfn && pfn <= kv.Value.Hi).Select(kv => kv.Value.Node).DefaultIfEmpty(IovaRbTree.Nil).Single();
                Assert.Equal(hit, tree.Find(pfn));
                int prev = IovaRbTree.Nil;
                foreach (var (_, (_, node)) in model)
                {
                    Assert.Equal(prev, tree.Prev(node));
                    if (prev != IovaRbTree.Nil) Assert.Equal(node, tree.Next(prev));
                    prev = node;
                }
            }
        });
    }
}
