namespace DmaLab.Platform.Dtb;

/// <summary>
/// A node of an unflattened device tree. Linux: struct device_node (include/linux/of.h), built by
/// unflatten_device_tree() in drivers/of/fdt.c.
/// </summary>
public sealed class DtNode
{
    internal readonly List<DtProperty> PropertyList = new();
    internal readonly List<DtNode> ChildList = new();
    string? _path;

    internal DtNode(string name, DtNode? parent, int offset, int depth)
    {
        Name = name;
        Parent = parent;
        Offset = offset;
        Depth = depth;
    }

    /// <summary>Full node name, "name@unit-address" (empty for the root).</summary>
    public string Name { get; }
    public DtNode? Parent { get; }
    /// <summary>Byte offset of the node's BEGIN_NODE token in the blob.</summary>
    public int Offset { get; }
    /// <summary>0 for the root.</summary>
    public int Depth { get; }
    public IReadOnlyList<DtProperty> Properties => PropertyList;
    public IReadOnlyList<DtNode> Children => ChildList;

    /// <summary>Node name without the unit address (Linux: %pOFn).</summary>
    public string BaseName
    {
        get
        {
            int at = Name.IndexOf('@');
            return at < 0 ? Name : Name[..at];
        }
    }

    /// <summary>Full path from the root ("/" for the root; Linux: %pOF).</summary>
    public string Path => _path ??= Parent is null ? "/" : Parent.Parent is null ? "/" + Name : Parent.Path + "/" + Name;

    /// <summary>The first property of that name (libfdt and Linux both find the first one).</summary>
    public DtProperty? Property(string name)
    {
        foreach (var p in PropertyList)
            if (p.Name == name)
                return p;
        return null;
    }

    public bool Has(string name) => Property(name) is not null;

    /// <summary>Reads a one-cell property; false when absent or shorter than a cell (Linux: of_property_read_u32).</summary>
    public bool TryGetU32(string name, out uint value)
    {
        var p = Property(name);
        if (p is null) { value = 0; return false; }
        return p.TryGetU32(out value);
    }

    /// <summary>compatible strings, most specific first.</summary>
    public List<string> Compatible => Property("compatible")?.Strings() ?? new List<string>();

    public bool IsCompatible(string compatible)
    {
        var p = Property("compatible");
        return p is not null && p.Strings().Contains(compatible);
    }

    /// <summary>
    /// status absent, "okay" or "ok". Linux: drivers/of/base.c, __of_device_is_available().
    /// </summary>
    public bool IsAvailable
    {
        get
        {
            var p = Property("status");
            if (p is null) return true;
            if (p.Length == 0) return false;
            var s = p.String();
            return s == "okay" || s == "ok";
        }
    }

    /// <summary>device_type string, if any.</summary>
    public string? DeviceType => Property("device_type")?.String();

    public DtNode? Child(string name)
    {
        foreach (var c in ChildList)
            if (c.Name == name)
                return c;
        return null;
    }

    public override string ToString() => Path;
}
