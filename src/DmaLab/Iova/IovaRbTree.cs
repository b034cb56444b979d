using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DmaLab.Iova;

/// <summary>
/// A red-black tree of disjoint pfn ranges ordered by <c>pfn_lo</c>, stored in an array of node structs with a free
/// list so that inserting and erasing never allocate once the array has grown (Linux: lib/rbtree.c as used by
/// drivers/iommu/iova.c — <c>struct iova</c> is one node). The nodes are also threaded in address order, so
/// rb_prev/rb_next are one load instead of a walk up the tree, and indexed by <c>pfn_lo</c> in a hash table, so
/// finding the range that starts at a pfn (what free_iova, free_iova_fast and the magazine flushes look up) does not
/// descend the tree.
/// </summary>
/// <remarks>
/// <para>A node handle is the node's byte offset in the array, so following a link costs one load from the array
/// base plus the handle, as a pointer does in the kernel (an index would add a multiply to every step of a descent,
/// and those steps are a chain of dependent loads). Offset 0 is a sentinel node, <see cref="Nil"/>: always black,
/// never linked, so colour tests need no null check; writes to its links are harmless and never read.</para>
/// <para>The hash index holds exactly the linked nodes, chained through <see cref="Node.HashNext"/>, with at least
/// as many buckets as node slots. A lookup for a pfn that is no range's pfn_lo falls back to the descent.</para>
/// <para>The allocator only depends on the in-order sequence (rb_prev/rb_next) and on searches by pfn, so the
/// exact tree shape need not equal the kernel's; the colour invariants are still kept and checked by
/// <see cref="Validate"/>.</para>
/// </remarks>
internal sealed class IovaRbTree
{
    public const int Nil = 0;

    /// <summary>Bytes per node: the stride between handles.</summary>
    public static int NodeBytes => Unsafe.SizeOf<Node>();

    [StructLayout(LayoutKind.Sequential)]
    internal struct Node
    {
        public ulong PfnLo;
        public ulong PfnHi;
        public int Left;
        public int Right;
        public int Parent;
        /// <summary>In-order predecessor (rb_prev), Nil for the lowest node.</summary>
        public int Prev;
        /// <summary>In-order successor (rb_next), Nil for the highest node; the free-list link of a free node.</summary>
        public int Next;
        /// <summary>Next node in the same pfn_lo hash bucket.</summary>
        public int HashNext;
        public bool Red;
    }

    Node[] _nodes;
    int _freeHead = Nil;
    int _used = 1; // node slots handed out so far, the sentinel included
    int[] _buckets = [];
    int _bucketShift;
    uint _bucketMask;

    public IovaRbTree(int capacity = 64)
    {
        _nodes = new Node[Math.Max(4, capacity + 1)];
        Rehash();
    }

    public int Root { get; private set; } = Nil;
    /// <summary>Number of nodes currently linked in the tree.</summary>
    public int Count { get; private set; }

    /// <summary>The node with handle <paramref name="n"/>; the handle must come from this tree.</summary>
    public ref Node this[int n]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref At(ref Base, n);
    }

    /// <summary>Start of the node array: hoisted into a local by the hot loops so each link is one load.</summary>
    ref byte Base
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Unsafe.As<Node, byte>(ref MemoryMarshal.GetArrayDataReference(_nodes));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ref Node At(ref byte b, int n) => ref Unsafe.As<byte, Node>(ref Unsafe.AddByteOffset(ref b, (nuint)(uint)n));

    /// <summary>True if <paramref name="n"/> is the handle of a node slot of this tree (linked or free).</summary>
    public bool IsHandle(int n) => n > 0 && n < _used * NodeBytes && n % NodeBytes == 0;
    /// <summary>True if node <paramref name="n"/> is in the tree (freed nodes have no parent and are not the root).</summary>
    public bool IsLinked(int n) => n == Root || this[n].Parent != Nil;
    public ulong Lo(int n) => this[n].PfnLo;
    public ulong Hi(int n) => this[n].PfnHi;

    /// <summary>Takes a node from the free list (alloc_iova_mem): allocation-free unless the array must grow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int AllocNode(ulong lo, ulong hi)
    {
        int n = _freeHead;
        if (n != Nil)
        {
            _freeHead = this[n].Next;
        }
        else
        {
            if (_used == _nodes.Length) Grow(_nodes.Length * 2L);
            n = _used++ * NodeBytes;
        }
        ref var node = ref this[n];
        node.PfnLo = lo;
        node.PfnHi = hi;
        node.Left = node.Right = node.Parent = node.Prev = node.Next = Nil;
        node.Red = true;
        return n;
    }

    /// <summary>Returns an unlinked node to the free list (free_iova_mem).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FreeNode(int n)
    {
        ref var node = ref this[n];
        node.Left = node.Right = node.Parent = node.Prev = Nil;
        node.Next = _freeHead;
        _freeHead = n;
    }

    /// <summary>Node slots handed out so far (the part of the node array a copy takes).</summary>
    public int Slots => _used;

    /// <summary>Makes this tree an exact copy of <paramref name="other"/>: the same nodes under the same handles, the
    /// same free list and index (a replay's rival hypothesis of a domain's state, or its adoption).</summary>
    public void CopyFrom(IovaRbTree other)
    {
        if (_nodes.Length != other._nodes.Length) _nodes = new Node[other._nodes.Length];
        Array.Copy(other._nodes, _nodes, other._used);
        if (_buckets.Length != other._buckets.Length) _buckets = new int[other._buckets.Length];
        Array.Copy(other._buckets, _buckets, other._buckets.Length);
        _bucketShift = other._bucketShift;
        _bucketMask = other._bucketMask;
        _freeHead = other._freeHead;
        _used = other._used;
        Root = other.Root;
        Count = other.Count;
    }

    /// <summary>Grows the node array up front so a benchmark or a large workload never resizes mid-run.</summary>
    public void EnsureCapacity(int nodes)
    {
        if (nodes + 1L > _nodes.Length) Grow(nodes + 1L);
    }

    void Grow(long slots)
    {
        // Handles are int byte offsets: the array may not pass 2 GiB.
        long max = int.MaxValue / NodeBytes;
        if (_nodes.Length >= max) throw new InvalidOperationException($"IOVA tree is full ({_nodes.Length - 1} nodes)");
        Array.Resize(ref _nodes, (int)Math.Min(slots, max));
        Rehash();
    }

    // ---- pfn_lo hash index ------------------------------------------------------------------------------------

    /// <summary>
    /// Bucket of a pfn_lo: a Fibonacci hash of the 4096-pfn block plus pfn_lo itself, so that ranges allocated one
    /// below the other walk the bucket array sequentially (a plain hash costs a cache and TLB miss per insert while a
    /// large tree is built) and size-aligned ranges, whose low bits are all zero, still spread over every bucket.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int Bucket(ulong pfnLo) => (int)(((uint)(((pfnLo >> 12) * 0x9E3779B97F4A7C15UL) >> _bucketShift) + (uint)pfnLo) & _bucketMask);

    /// <summary>Sizes the bucket array to a power of two no smaller than the node array and re-indexes every node.</summary>
    void Rehash()
    {
        int bits = Math.Max(4, 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)_nodes.Length - 1));
        if (_buckets.Length == 1 << bits) return;
        _buckets = new int[1 << bits];
        _bucketShift = 64 - bits;
        _bucketMask = (1u << bits) - 1;
        ref byte b = ref Base;
        for (int n = SlowFirst(); n != Nil; n = At(ref b, n).Next) HashAdd(ref b, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void HashAdd(ref byte b, int n)
    {
        ref int head = ref _buckets[Bucket(At(ref b, n).PfnLo)];
        At(ref b, n).HashNext = head;
        head = n;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void HashRemove(ref byte b, int n)
    {
        ref var node = ref At(ref b, n);
        ref int head = ref _buckets[Bucket(node.PfnLo)];
        if (head == n)
        {
            head = node.HashNext;
        }
        else
        {
            int h = head;
            while (At(ref b, h).HashNext != n) h = At(ref b, h).HashNext;
            At(ref b, h).HashNext = node.HashNext;
        }
        node.HashNext = Nil;
    }

    /// <summary>
    /// Moves the pfn_lo of node <paramref name="n"/> (reserve_iova widening a range downwards), keeping the index in
    /// step; the caller keeps the tree order.
    /// </summary>
    public void SetLo(int n, ulong pfnLo)
    {
        ref byte b = ref Base;
        bool linked = IsLinked(n);
        if (linked) HashRemove(ref b, n);
        At(ref b, n).PfnLo = pfnLo;
        if (linked) HashAdd(ref b, n);
    }

    public int First()
    {
        int n = Root;
        if (n == Nil) return Nil;
        while (this[n].Left != Nil) n = this[n].Left;
        return n;
    }

    public int Last()
    {
        int n = Root;
        if (n == Nil) return Nil;
        while (this[n].Right != Nil) n = this[n].Right;
        return n;
    }

    /// <summary>rb_next: in-order successor.</summary>
    public int Next(int n) => this[n].Next;

    /// <summary>rb_prev: in-order predecessor.</summary>
    public int Prev(int n) => this[n].Prev;

    /// <summary>
    /// The node whose [pfn_lo, pfn_hi] contains <paramref name="pfn"/> (private_find_iova), or Nil: the range starting
    /// at <paramref name="pfn"/> from the hash index, else a descent from the root.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Find(ulong pfn)
    {
        ref byte b = ref Base;
        for (int h = _buckets[Bucket(pfn)]; h != Nil; h = At(ref b, h).HashNext)
            if (At(ref b, h).PfnLo == pfn) return h;
        int n = Root;
        while (n != Nil)
        {
            ref var node = ref At(ref b, n);
            if (pfn < node.PfnLo) n = node.Left;
            else if (pfn > node.PfnHi) n = node.Right;
            else return n;
        }
        return Nil;
    }

    /// <summary>
    /// Linux: iova_find_limit(): the lowest node whose pfn_hi reaches <paramref name="limitPfn"/>, or
    /// <paramref name="none"/> when there is none.
    /// </summary>
    public int LowestReaching(ulong limitPfn, int none)
    {
        ref byte b = ref Base;
        int n = Root, best = none;
        while (n != Nil)
        {
            ref var node = ref At(ref b, n);
            if (node.PfnHi >= limitPfn) { best = n; n = node.Left; }
            else n = node.Right;
        }
        return best;
    }

    /// <summary>
    /// Links node <paramref name="n"/> below <paramref name="start"/> (or the root) by <c>pfn_lo</c> and rebalances
    /// (Linux: iova.c iova_insert_rbtree + rb_insert_color). Returns false, leaving the node unlinked, if a node
    /// with the same pfn_lo exists (the kernel's WARN_ON).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Insert(int n, int start)
    {
        ref byte b = ref Base;
        ref var node = ref At(ref b, n);
        ulong key = node.PfnLo;
        int cur = start != Nil ? start : Root;
        int parent = At(ref b, cur).Parent;
        bool left = false;
        while (cur != Nil)
        {
            parent = cur;
            ref var c = ref At(ref b, cur);
            if (key < c.PfnLo) { left = true; cur = c.Left; }
            else if (key > c.PfnLo) { left = false; cur = c.Right; }
            else return false;
        }
        node.Parent = parent;
        node.Left = node.Right = Nil;
        node.Red = true;
        if (parent == Nil)
        {
            Root = n;
            node.Prev = node.Next = Nil;
        }
        else
        {
            // The new leaf sits between its parent and the parent's old neighbour on that side.
            ref var p = ref At(ref b, parent);
            if (left)
            {
                p.Left = n;
                node.Prev = p.Prev;
                node.Next = parent;
                At(ref b, p.Prev).Next = n;
                p.Prev = n;
            }
            else
            {
                p.Right = n;
                node.Prev = parent;
                node.Next = p.Next;
                At(ref b, p.Next).Prev = n;
                p.Next = n;
            }
        }
        Count++;
        HashAdd(ref b, n);
        InsertFixup(ref b, n);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void RotateLeft(ref byte b, int x)
    {
        ref var nx = ref At(ref b, x);
        int y = nx.Right;
        ref var ny = ref At(ref b, y);
        nx.Right = ny.Left;
        if (ny.Left != Nil) At(ref b, ny.Left).Parent = x;
        int p = nx.Parent;
        ny.Parent = p;
        if (p == Nil) Root = y;
        else if (x == At(ref b, p).Left) At(ref b, p).Left = y;
        else At(ref b, p).Right = y;
        ny.Left = x;
        nx.Parent = y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void RotateRight(ref byte b, int x)
    {
        ref var nx = ref At(ref b, x);
        int y = nx.Left;
        ref var ny = ref At(ref b, y);
        nx.Left = ny.Right;
        if (ny.Right != Nil) At(ref b, ny.Right).Parent = x;
        int p = nx.Parent;
        ny.Parent = p;
        if (p == Nil) Root = y;
        else if (x == At(ref b, p).Right) At(ref b, p).Right = y;
        else At(ref b, p).Left = y;
        ny.Right = x;
        nx.Parent = y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void InsertFixup(ref byte b, int z)
    {
        while (true)
        {
            int p = At(ref b, z).Parent;
            if (!At(ref b, p).Red) break; // the sentinel (parent of the root) is black
            int g = At(ref b, p).Parent;
            ref var ng = ref At(ref b, g);
            if (p == ng.Left)
            {
                int u = ng.Right;
                if (At(ref b, u).Red)
                {
                    At(ref b, p).Red = false; At(ref b, u).Red = false; ng.Red = true; z = g;
                }
                else
                {
                    if (z == At(ref b, p).Right) { z = p; RotateLeft(ref b, z); p = At(ref b, z).Parent; }
                    At(ref b, p).Red = false; ng.Red = true; RotateRight(ref b, g);
                }
            }
            else
            {
                int u = ng.Left;
                if (At(ref b, u).Red)
                {
                    At(ref b, p).Red = false; At(ref b, u).Red = false; ng.Red = true; z = g;
                }
                else
                {
                    if (z == At(ref b, p).Left) { z = p; RotateRight(ref b, z); p = At(ref b, z).Parent; }
                    At(ref b, p).Red = false; ng.Red = true; RotateLeft(ref b, g);
                }
            }
        }
        At(ref b, Root).Red = false;
    }

    void Transplant(ref byte b, int u, int v)
    {
        int p = At(ref b, u).Parent;
        if (p == Nil) Root = v;
        else if (u == At(ref b, p).Left) At(ref b, p).Left = v;
        else At(ref b, p).Right = v;
        if (v != Nil) At(ref b, v).Parent = p;
    }

    /// <summary>rb_erase: unlinks <paramref name="z"/> and rebalances. The node is not freed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Erase(int z)
    {
        ref byte b = ref Base;
        ref var nz = ref At(ref b, z);
        HashRemove(ref b, z);
        At(ref b, nz.Prev).Next = nz.Next;
        At(ref b, nz.Next).Prev = nz.Prev;
        int y = z;
        bool yWasRed = nz.Red;
        int x, xParent;
        if (nz.Left == Nil)
        {
            x = nz.Right; xParent = nz.Parent;
            Transplant(ref b, z, x);
        }
        else if (nz.Right == Nil)
        {
            x = nz.Left; xParent = nz.Parent;
            Transplant(ref b, z, x);
        }
        else
        {
            y = nz.Next; // the minimum of the right subtree
            ref var ny = ref At(ref b, y);
            yWasRed = ny.Red;
            x = ny.Right;
            if (ny.Parent == z)
            {
                xParent = y;
            }
            else
            {
                xParent = ny.Parent;
                Transplant(ref b, y, x);
                ny.Right = nz.Right;
                At(ref b, ny.Right).Parent = y;
            }
            Transplant(ref b, z, y);
            ny.Left = nz.Left;
            At(ref b, ny.Left).Parent = y;
            ny.Red = nz.Red;
        }
        Count--;
        if (!yWasRed) EraseFixup(ref b, x, xParent);
        nz.Left = nz.Right = nz.Parent = nz.Prev = nz.Next = Nil;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void EraseFixup(ref byte b, int x, int parent)
    {
        while (x != Root && !At(ref b, x).Red)
        {
            ref var np = ref At(ref b, parent);
            if (x == np.Left)
            {
                int w = np.Right;
                if (At(ref b, w).Red) { At(ref b, w).Red = false; np.Red = true; RotateLeft(ref b, parent); w = np.Right; }
                ref var nw = ref At(ref b, w);
                if (!At(ref b, nw.Left).Red && !At(ref b, nw.Right).Red)
                {
                    nw.Red = true; x = parent; parent = np.Parent;
                }
                else
                {
                    if (!At(ref b, nw.Right).Red)
                    {
                        At(ref b, nw.Left).Red = false; nw.Red = true; RotateRight(ref b, w); w = np.Right;
                    }
                    ref var nw2 = ref At(ref b, w);
                    nw2.Red = np.Red; np.Red = false;
                    At(ref b, nw2.Right).Red = false; // the sentinel stays black if it is Nil
                    RotateLeft(ref b, parent); x = Root; parent = Nil;
                }
            }
            else
            {
                int w = np.Left;
                if (At(ref b, w).Red) { At(ref b, w).Red = false; np.Red = true; RotateRight(ref b, parent); w = np.Left; }
                ref var nw = ref At(ref b, w);
                if (!At(ref b, nw.Right).Red && !At(ref b, nw.Left).Red)
                {
                    nw.Red = true; x = parent; parent = np.Parent;
                }
                else
                {
                    if (!At(ref b, nw.Left).Red)
                    {
                        At(ref b, nw.Right).Red = false; nw.Red = true; RotateLeft(ref b, w); w = np.Left;
                    }
                    ref var nw2 = ref At(ref b, w);
                    nw2.Red = np.Red; np.Red = false;
                    At(ref b, nw2.Left).Red = false;
                    RotateRight(ref b, parent); x = Root; parent = Nil;
                }
            }
        }
        At(ref b, x).Red = false;
    }

    /// <summary>Height of the tree (longest root-to-leaf path, in nodes). O(n); for statistics and tests.</summary>
    public int Height() => HeightOf(Root);

    int HeightOf(int n) => n == Nil ? 0 : 1 + Math.Max(HeightOf(this[n].Left), HeightOf(this[n].Right));

    /// <summary>
    /// Checks BST order, parent links, red-red and black-height invariants and that the prev/next threads follow
    /// the in-order sequence; null if sound.
    /// </summary>
    public string? Validate()
    {
        if (this[Nil].Red) return "sentinel is red";
        if (Root == Nil) return Count == 0 ? null : "empty root with nonzero count";
        if (this[Root].Red) return "root is red";
        if (this[Root].Parent != Nil) return "root has a parent";
        int count = 0;
        string? err = null;
        Check(Root, ref count, ref err);
        if (err != null) return err;
        if (count != Count) return $"count {Count} but {count} nodes reachable";
        // Threads: walking the in-order sequence by parent links must give the same neighbours.
        int prev = Nil;
        for (int n = SlowFirst(); n != Nil; n = SlowNext(n))
        {
            if (this[n].Prev != prev) return $"prev thread of 0x{this[n].PfnLo:x} is wrong";
            if (prev != Nil && this[prev].Next != n) return $"next thread of 0x{this[prev].PfnLo:x} is wrong";
            prev = n;
        }
        if (prev != Nil && this[prev].Next != Nil) return "next thread of the last node is not Nil";
        // Index: every linked node in the bucket of its pfn_lo, and nothing else in any bucket.
        int indexed = 0;
        for (int i = 0; i < _buckets.Length; i++)
        {
            for (int h = _buckets[i]; h != Nil; h = this[h].HashNext)
            {
                if (!IsLinked(h)) return $"hash bucket {i} holds an unlinked node";
                if (Bucket(this[h].PfnLo) != i) return $"0x{this[h].PfnLo:x} is hashed into the wrong bucket";
                if (++indexed > Count) return "hash index holds more nodes than the tree";
            }
        }
        return indexed == Count ? null : $"hash index holds {indexed} of {Count} nodes";
    }

    int SlowFirst()
    {
        int n = Root;
        if (n == Nil) return Nil;
        while (this[n].Left != Nil) n = this[n].Left;
        return n;
    }

    int SlowNext(int n)
    {
        int r = this[n].Right;
        if (r != Nil)
        {
            while (this[r].Left != Nil) r = this[r].Left;
            return r;
        }
        int p = this[n].Parent;
        while (p != Nil && n == this[p].Right) { n = p; p = this[p].Parent; }
        return p;
    }

    int Check(int n, ref int count, ref string? err)
    {
        if (n == Nil || err != null) return 1;
        count++;
        ref var node = ref this[n];
        if (node.Left != Nil && (this[node.Left].Parent != n || this[node.Left].PfnLo >= node.PfnLo))
            err ??= $"bad left link/order at pfn 0x{node.PfnLo:x}";
        if (node.Right != Nil && (this[node.Right].Parent != n || this[node.Right].PfnLo <= node.PfnLo))
            err ??= $"bad right link/order at pfn 0x{node.PfnLo:x}";
        if (node.Red && (this[node.Left].Red || this[node.Right].Red))
            err ??= $"red node 0x{node.PfnLo:x} has a red child";
        int lh = Check(node.Left, ref count, ref err);
        int rh = Check(node.Right, ref count, ref err);
        if (lh != rh) err ??= $"black height differs below 0x{node.PfnLo:x} ({lh} vs {rh})";
        return lh + (node.Red ? 0 : 1);
    }
}
