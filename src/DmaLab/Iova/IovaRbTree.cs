namespace DmaLab.Iova;

/// <summary>
/// A red-black tree of disjoint pfn ranges ordered by <c>pfn_lo</c>, stored in an array of node structs with a free
/// list so that inserting and erasing never allocate once the array has grown (Linux: lib/rbtree.c as used by
/// drivers/iommu/iova.c — <c>struct iova</c> is one node). Node handles are array indices; <see cref="Nil"/> is NULL.
/// </summary>
/// <remarks>
/// The allocator only depends on the in-order sequence (rb_prev/rb_next) and on searches by pfn, so the exact tree
/// shape need not equal the kernel's; the colour invariants are still kept and checked by <see cref="Validate"/>.
/// </remarks>
internal sealed class IovaRbTree
{
    public const int Nil = -1;

    internal struct Node
    {
        public ulong PfnLo;
        public ulong PfnHi;
        public int Left;
        public int Right;
        public int Parent;
        public bool Red;
    }

    Node[] _nodes;
    int _freeHead = Nil;
    int _used;

    public IovaRbTree(int capacity = 64)
    {
        _nodes = new Node[Math.Max(4, capacity)];
    }

    public int Root { get; private set; } = Nil;
    /// <summary>Number of nodes currently linked in the tree.</summary>
    public int Count { get; private set; }

    public ref Node this[int i] => ref _nodes[i];
    public int Capacity => _used;
    /// <summary>True if node <paramref name="n"/> is in the tree (freed nodes have no parent and are not the root).</summary>
    public bool IsLinked(int n) => n == Root || _nodes[n].Parent != Nil;
    public ulong Lo(int i) => _nodes[i].PfnLo;
    public ulong Hi(int i) => _nodes[i].PfnHi;

    /// <summary>Takes a node from the free list (alloc_iova_mem): allocation-free unless the array must grow.</summary>
    public int AllocNode(ulong lo, ulong hi)
    {
        int n;
        if (_freeHead != Nil)
        {
            n = _freeHead;
            _freeHead = _nodes[n].Right;
        }
        else
        {
            if (_used == _nodes.Length) Array.Resize(ref _nodes, _nodes.Length * 2);
            n = _used++;
        }
        ref var node = ref _nodes[n];
        node.PfnLo = lo;
        node.PfnHi = hi;
        node.Left = node.Right = node.Parent = Nil;
        node.Red = true;
        return n;
    }

    /// <summary>Returns an unlinked node to the free list (free_iova_mem).</summary>
    public void FreeNode(int n)
    {
        _nodes[n].Left = _nodes[n].Parent = Nil;
        _nodes[n].Right = _freeHead;
        _freeHead = n;
    }

    /// <summary>Grows the node array up front so a benchmark or a large workload never resizes mid-run.</summary>
    public void EnsureCapacity(int nodes)
    {
        if (nodes > _nodes.Length) Array.Resize(ref _nodes, nodes);
    }

    public int First()
    {
        int n = Root;
        if (n == Nil) return Nil;
        while (_nodes[n].Left != Nil) n = _nodes[n].Left;
        return n;
    }

    public int Last()
    {
        int n = Root;
        if (n == Nil) return Nil;
        while (_nodes[n].Right != Nil) n = _nodes[n].Right;
        return n;
    }

    /// <summary>rb_next: in-order successor.</summary>
    public int Next(int n)
    {
        var nodes = _nodes;
        int r = nodes[n].Right;
        if (r != Nil)
        {
            while (nodes[r].Left != Nil) r = nodes[r].Left;
            return r;
        }
        int p = nodes[n].Parent;
        while (p != Nil && n == nodes[p].Right) { n = p; p = nodes[p].Parent; }
        return p;
    }

    /// <summary>rb_prev: in-order predecessor.</summary>
    public int Prev(int n)
    {
        var nodes = _nodes;
        int l = nodes[n].Left;
        if (l != Nil)
        {
            while (nodes[l].Right != Nil) l = nodes[l].Right;
            return l;
        }
        int p = nodes[n].Parent;
        while (p != Nil && n == nodes[p].Left) { n = p; p = nodes[p].Parent; }
        return p;
    }

    /// <summary>The node whose [pfn_lo, pfn_hi] contains <paramref name="pfn"/> (private_find_iova), or Nil.</summary>
    public int Find(ulong pfn)
    {
        var nodes = _nodes;
        int n = Root;
        while (n != Nil)
        {
            ref var node = ref nodes[n];
            if (pfn < node.PfnLo) n = node.Left;
            else if (pfn > node.PfnHi) n = node.Right;
            else return n;
        }
        return Nil;
    }

    /// <summary>
    /// Links node <paramref name="n"/> below <paramref name="start"/> (or the root) by <c>pfn_lo</c> and rebalances
    /// (Linux: iova.c iova_insert_rbtree + rb_insert_color). Returns false, leaving the node unlinked, if a node
    /// with the same pfn_lo exists (the kernel's WARN_ON).
    /// </summary>
    public bool Insert(int n, int start)
    {
        var nodes = _nodes;
        ulong key = nodes[n].PfnLo;
        int cur = start != Nil ? start : Root;
        int parent = start != Nil ? nodes[start].Parent : Nil;
        bool left = false;
        while (cur != Nil)
        {
            parent = cur;
            ref var c = ref nodes[cur];
            if (key < c.PfnLo) { left = true; cur = c.Left; }
            else if (key > c.PfnLo) { left = false; cur = c.Right; }
            else return false;
        }
        ref var node = ref _nodes[n];
        node.Parent = parent;
        node.Left = node.Right = Nil;
        node.Red = true;
        if (parent == Nil) Root = n;
        else if (left) _nodes[parent].Left = n;
        else _nodes[parent].Right = n;
        Count++;
        InsertFixup(n);
        return true;
    }

    void RotateLeft(int x)
    {
        int y = _nodes[x].Right;
        _nodes[x].Right = _nodes[y].Left;
        if (_nodes[y].Left != Nil) _nodes[_nodes[y].Left].Parent = x;
        int p = _nodes[x].Parent;
        _nodes[y].Parent = p;
        if (p == Nil) Root = y;
        else if (x == _nodes[p].Left) _nodes[p].Left = y;
        else _nodes[p].Right = y;
        _nodes[y].Left = x;
        _nodes[x].Parent = y;
    }

    void RotateRight(int x)
    {
        int y = _nodes[x].Left;
        _nodes[x].Left = _nodes[y].Right;
        if (_nodes[y].Right != Nil) _nodes[_nodes[y].Right].Parent = x;
        int p = _nodes[x].Parent;
        _nodes[y].Parent = p;
        if (p == Nil) Root = y;
        else if (x == _nodes[p].Right) _nodes[p].Right = y;
        else _nodes[p].Left = y;
        _nodes[y].Right = x;
        _nodes[x].Parent = y;
    }

    bool IsRed(int n) => n != Nil && _nodes[n].Red;

    void InsertFixup(int z)
    {
        while (IsRed(_nodes[z].Parent))
        {
            int p = _nodes[z].Parent;
            int g = _nodes[p].Parent;
            if (p == _nodes[g].Left)
            {
                int u = _nodes[g].Right;
                if (IsRed(u))
                {
                    _nodes[p].Red = false; _nodes[u].Red = false; _nodes[g].Red = true; z = g;
                }
                else
                {
                    if (z == _nodes[p].Right) { z = p; RotateLeft(z); p = _nodes[z].Parent; g = _nodes[p].Parent; }
                    _nodes[p].Red = false; _nodes[g].Red = true; RotateRight(g);
                }
            }
            else
            {
                int u = _nodes[g].Left;
                if (IsRed(u))
                {
                    _nodes[p].Red = false; _nodes[u].Red = false; _nodes[g].Red = true; z = g;
                }
                else
                {
                    if (z == _nodes[p].Left) { z = p; RotateRight(z); p = _nodes[z].Parent; g = _nodes[p].Parent; }
                    _nodes[p].Red = false; _nodes[g].Red = true; RotateLeft(g);
                }
            }
        }
        _nodes[Root].Red = false;
    }

    void Transplant(int u, int v)
    {
        int p = _nodes[u].Parent;
        if (p == Nil) Root = v;
        else if (u == _nodes[p].Left) _nodes[p].Left = v;
        else _nodes[p].Right = v;
        if (v != Nil) _nodes[v].Parent = p;
    }

    /// <summary>rb_erase: unlinks <paramref name="z"/> and rebalances. The node is not freed.</summary>
    public void Erase(int z)
    {
        int y = z;
        bool yWasRed = _nodes[y].Red;
        int x, xParent;
        if (_nodes[z].Left == Nil)
        {
            x = _nodes[z].Right; xParent = _nodes[z].Parent;
            Transplant(z, x);
        }
        else if (_nodes[z].Right == Nil)
        {
            x = _nodes[z].Left; xParent = _nodes[z].Parent;
            Transplant(z, x);
        }
        else
        {
            y = _nodes[z].Right;
            while (_nodes[y].Left != Nil) y = _nodes[y].Left;
            yWasRed = _nodes[y].Red;
            x = _nodes[y].Right;
            if (_nodes[y].Parent == z)
            {
                xParent = y;
            }
            else
            {
                xParent = _nodes[y].Parent;
                Transplant(y, x);
                _nodes[y].Right = _nodes[z].Right;
                _nodes[_nodes[y].Right].Parent = y;
            }
            Transplant(z, y);
            _nodes[y].Left = _nodes[z].Left;
            _nodes[_nodes[y].Left].Parent = y;
            _nodes[y].Red = _nodes[z].Red;
        }
        Count--;
        if (!yWasRed) EraseFixup(x, xParent);
        _nodes[z].Left = _nodes[z].Right = _nodes[z].Parent = Nil;
    }

    void EraseFixup(int x, int parent)
    {
        while (x != Root && !IsRed(x))
        {
            if (x == _nodes[parent].Left)
            {
                int w = _nodes[parent].Right;
                if (IsRed(w)) { _nodes[w].Red = false; _nodes[parent].Red = true; RotateLeft(parent); w = _nodes[parent].Right; }
                if (!IsRed(_nodes[w].Left) && !IsRed(_nodes[w].Right))
                {
                    _nodes[w].Red = true; x = parent; parent = _nodes[x].Parent;
                }
                else
                {
                    if (!IsRed(_nodes[w].Right))
                    {
                        _nodes[_nodes[w].Left].Red = false; _nodes[w].Red = true; RotateRight(w); w = _nodes[parent].Right;
                    }
                    _nodes[w].Red = _nodes[parent].Red; _nodes[parent].Red = false;
                    if (_nodes[w].Right != Nil) _nodes[_nodes[w].Right].Red = false;
                    RotateLeft(parent); x = Root; parent = Nil;
                }
            }
            else
            {
                int w = _nodes[parent].Left;
                if (IsRed(w)) { _nodes[w].Red = false; _nodes[parent].Red = true; RotateRight(parent); w = _nodes[parent].Left; }
                if (!IsRed(_nodes[w].Right) && !IsRed(_nodes[w].Left))
                {
                    _nodes[w].Red = true; x = parent; parent = _nodes[x].Parent;
                }
                else
                {
                    if (!IsRed(_nodes[w].Left))
                    {
                        _nodes[_nodes[w].Right].Red = false; _nodes[w].Red = true; RotateLeft(w); w = _nodes[parent].Left;
                    }
                    _nodes[w].Red = _nodes[parent].Red; _nodes[parent].Red = false;
                    if (_nodes[w].Left != Nil) _nodes[_nodes[w].Left].Red = false;
                    RotateRight(parent); x = Root; parent = Nil;
                }
            }
        }
        if (x != Nil) _nodes[x].Red = false;
    }

    /// <summary>Height of the tree (longest root-to-leaf path, in nodes). O(n); for statistics and tests.</summary>
    public int Height() => HeightOf(Root);

    int HeightOf(int n) => n == Nil ? 0 : 1 + Math.Max(HeightOf(_nodes[n].Left), HeightOf(_nodes[n].Right));

    /// <summary>Checks BST order, parent links, red-red and black-height invariants; null if sound.</summary>
    public string? Validate()
    {
        if (Root == Nil) return Count == 0 ? null : "empty root with nonzero count";
        if (_nodes[Root].Red) return "root is red";
        if (_nodes[Root].Parent != Nil) return "root has a parent";
        int count = 0;
        string? err = null;
        Check(Root, ref count, ref err);
        if (err != null) return err;
        return count == Count ? null : $"count {Count} but {count} nodes reachable";
    }

    int Check(int n, ref int count, ref string? err)
    {
        if (n == Nil || err != null) return 1;
        count++;
        ref var node = ref _nodes[n];
        if (node.Left != Nil && (_nodes[node.Left].Parent != n || _nodes[node.Left].PfnLo >= node.PfnLo))
            err ??= $"bad left link/order at pfn 0x{node.PfnLo:x}";
        if (node.Right != Nil && (_nodes[node.Right].Parent != n || _nodes[node.Right].PfnLo <= node.PfnLo))
            err ??= $"bad right link/order at pfn 0x{node.PfnLo:x}";
        if (node.Red && (IsRed(node.Left) || IsRed(node.Right)))
            err ??= $"red node 0x{node.PfnLo:x} has a red child";
        int lh = Check(node.Left, ref count, ref err);
        int rh = Check(node.Right, ref count, ref err);
        if (lh != rh) err ??= $"black height differs below 0x{node.PfnLo:x} ({lh} vs {rh})";
        return lh + (node.Red ? 0 : 1);
    }
}
