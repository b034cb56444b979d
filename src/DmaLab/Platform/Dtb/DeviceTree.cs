namespace DmaLab.Platform.Dtb;

/// <summary>
/// An unflattened device tree: the node hierarchy, the memory reservation block and the phandle index.
/// Parse a blob with <see cref="FdtReader"/>.
/// </summary>
public sealed class DeviceTree
{
    readonly Dictionary<uint, DtNode> _phandles;

    internal DeviceTree(DtNode root, List<FdtReserveEntry> memReserve, int nodeCount, uint version, uint bootCpuId,
        Dictionary<uint, DtNode> phandles, List<string> warnings)
    {
        Root = root;
        MemoryReservations = memReserve;
        NodeCount = nodeCount;
        Version = version;
        BootCpuId = bootCpuId;
        _phandles = phandles;
        Warnings = warnings;
    }

    public DtNode Root { get; }
    /// <summary>/memreserve/ entries from the memory reservation block.</summary>
    public IReadOnlyList<FdtReserveEntry> MemoryReservations { get; }
    public int NodeCount { get; }
    /// <summary>FDT header version (16 or 17).</summary>
    public uint Version { get; }
    public uint BootCpuId { get; }
    /// <summary>Things the reader tolerated, as Linux does (duplicate phandles, ...).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// The node whose phandle (or legacy linux,phandle) is <paramref name="phandle"/>; 0 and 0xffffffff name no
    /// node. Linux: drivers/of/base.c, of_find_node_by_phandle() (the first node in tree order wins).
    /// </summary>
    public DtNode? FindByPhandle(uint phandle)
    {
        if (phandle == 0 || phandle == uint.MaxValue) return null;
        return _phandles.TryGetValue(phandle, out var n) ? n : null;
    }

    /// <summary>The node at an absolute path ("/soc/iommu@1000"), or null.</summary>
    public DtNode? FindByPath(string path)
    {
        if (path == "/") return Root;
        if (!path.StartsWith('/')) return null;
        var node = Root;
        foreach (var part in path[1..].Split('/'))
        {
            if (part.Length == 0) continue;
            var next = node.Child(part);
            if (next is null)
            {
                // A path may leave out the unit address when the name is unique (Linux: __of_find_node_by_path).
                foreach (var c in node.Children)
                    if (c.BaseName == part) { next = c; break; }
            }
            if (next is null) return null;
            node = next;
        }
        return node;
    }

    /// <summary>Every node, depth first in tree order.</summary>
    public IEnumerable<DtNode> AllNodes()
    {
        var stack = new Stack<DtNode>();
        stack.Push(Root);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            yield return n;
            for (int i = n.Children.Count - 1; i >= 0; i--)
                stack.Push(n.Children[i]);
        }
    }
}
