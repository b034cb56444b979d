namespace DmaLab.Platform.Dtb;

/// <summary>
/// Names devices as Linux names platform devices created from the tree, so names match the kernel's traces
/// ("9050000.smmuv3", "soc:iommu"). Linux: drivers/of/device.c, of_device_make_bus_id(). A name that is already
/// taken falls back to the node's full path, which is unique.
/// </summary>
internal sealed class BusIdNamer(DeviceTree tree)
{
    readonly Dictionary<DtNode, string> _names = new();
    readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public string NameOf(DtNode node)
    {
        if (_names.TryGetValue(node, out var n)) return n;
        n = Make(node);
        if (!_used.Add(n)) { n = node.Path; _used.Add(n); }
        _names[node] = n;
        return n;
    }

    string Make(DtNode start)
    {
        string? name = null;
        for (var node = start; node.Parent is not null; node = node.Parent)
        {
            if (node.Has("reg"))
            {
                ulong addr = OfAddress.FirstRegAddress(tree, node);
                if (addr != OfAddress.BadAddr)
                {
                    // A "mask" property adds ffs(mask) - 1 to the name.
                    string head = node.TryGetU32("mask", out uint mask)
                        ? $"{addr:x}.{(mask == 0 ? -1 : System.Numerics.BitOperations.TrailingZeroCount(mask))}.{node.BaseName}"
                        : $"{addr:x}.{node.BaseName}";
                    return name is null ? head : head + ":" + name;
                }
            }
            name = name is null ? node.Name : node.Name + ":" + name;
        }
        return name ?? "/";
    }
}
