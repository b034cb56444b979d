namespace DmaLab.Platform.Dtb;

/// <summary>
/// One entry of a phandle-with-arguments list ("iommus = &lt;&amp;smmu 0x400 0x7f&gt;"). Target is null for an
/// empty (phandle 0) entry. Linux: struct of_phandle_args.
/// </summary>
public sealed record PhandleArgs(DtNode? Target, uint[] Args)
{
    /// <summary>Linux: MAX_PHANDLE_ARGS; longer argument lists are cut to this many.</summary>
    public const int MaxArgs = 16;

    /// <summary>
    /// Splits <paramref name="listName"/> of <paramref name="node"/> into entries, the argument count of each taken
    /// from <paramref name="cellsName"/> in the target (or <paramref name="fixedCells"/> when the target lacks it
    /// and it is &gt;= 0). Stops at the first bad entry (unknown phandle, missing cell count, list too short) and
    /// says why in <paramref name="problem"/>, as Linux's of_phandle_iterator_next() does.
    /// </summary>
    public static List<PhandleArgs> Parse(DeviceTree tree, DtNode node, string listName, string cellsName,
        out string? problem, int fixedCells = -1)
    {
        problem = null;
        var list = new List<PhandleArgs>();
        var prop = node.Property(listName);
        if (prop is null) return list;
        int n = prop.CellCount;
        if (prop.Length % 4 != 0)
            problem = $"{node.Path}: {listName} length {prop.Length} is not a multiple of 4";
        int i = 0;
        while (i < n)
        {
            uint ph = prop.Cell(i++);
            if (ph == 0)
            {
                list.Add(new PhandleArgs(null, Array.Empty<uint>()));
                continue;
            }
            var target = tree.FindByPhandle(ph);
            if (target is null)
            {
                problem = $"{node.Path}: {listName} entry {list.Count} refers to unknown phandle 0x{ph:x}";
                return list;
            }
            int count;
            if (target.TryGetU32(cellsName, out uint c))
                count = (int)Math.Min(c, int.MaxValue);
            else if (fixedCells >= 0)
                count = fixedCells;
            else
            {
                problem = $"{node.Path}: {listName} entry {list.Count} points at {target.Path}, which has no {cellsName}";
                return list;
            }
            if (count > n - i)
            {
                problem = $"{node.Path}: {listName} entry {list.Count} needs {count} argument cells for {target.Path} but only {n - i} remain";
                return list;
            }
            int keep = Math.Min(count, MaxArgs);
            if (count > MaxArgs)
                problem = $"{node.Path}: {listName} entry {list.Count} has {count} argument cells, more than {MaxArgs}; cut as Linux does";
            var args = new uint[keep];
            for (int k = 0; k < keep; k++) args[k] = prop.Cell(i + k);
            i += count;
            list.Add(new PhandleArgs(target, args));
        }
        return list;
    }
}
