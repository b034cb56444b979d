using System.Buffers.Binary;
using System.Text;

namespace DmaLab.Platform.Dtb;

/// <summary>
/// Reads a flattened device tree blob (Devicetree Specification v0.4, chapter 5) into a <see cref="DeviceTree"/>.
/// Every offset and length is checked against the blob and its blocks, alignment is checked, nesting depth is
/// bounded; any breach throws <see cref="DtbFormatException"/> naming the byte offset. Work is linear in the blob
/// size, so a hostile blob cannot make it hang. Linux uses libfdt (scripts/dtc/libfdt/fdt.c, fdt_check_header())
/// and drivers/of/fdt.c (unflatten_dt_nodes()); this is our own reader of the same format.
/// </summary>
public static class FdtReader
{
    public const uint Magic = 0xd00dfeed;
    /// <summary>Header size of a version 17 blob (version 16 lacks size_dt_struct, but has the same field space).</summary>
    public const int HeaderSize = 40;
    /// <summary>Nesting bound; Linux's unflattener uses FDT_MAX_DEPTH = 64.</summary>
    public const int MaxDepth = 64;
    /// <summary>Default bound on a blob read from a stream.</summary>
    public const int DefaultMaxSize = 64 << 20;

    /// <summary>Reads a blob from a stream, refusing more than <paramref name="maxSize"/> bytes.</summary>
    public static DeviceTree Read(Stream stream, int maxSize = DefaultMaxSize)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buf = new byte[Math.Min(maxSize, 1 << 16)];
        int len = 0;
        while (true)
        {
            if (len == buf.Length)
            {
                if (buf.Length >= maxSize)
                {
                    // One more byte would exceed the limit: check whether the stream has one.
                    if (stream.ReadByte() < 0) break;
                    throw new DtbFormatException(maxSize, $"blob larger than the {maxSize}-byte limit");
                }
                Array.Resize(ref buf, (int)Math.Min((long)buf.Length * 2, maxSize));
            }
            int n = stream.Read(buf, len, buf.Length - len);
            if (n == 0) break;
            len += n;
        }
        return Parse(buf.AsSpan(0, len));
    }

    /// <summary>Parses a blob; the bytes are copied once, properties then point into the copy.</summary>
    public static DeviceTree Parse(ReadOnlySpan<byte> data) => ParseOwned(data.ToArray());

    /// <summary>Parses without throwing: the error is returned as a one-line message.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out DeviceTree? tree, out DtbFormatException? error)
    {
        try
        {
            tree = Parse(data);
            error = null;
            return true;
        }
        catch (DtbFormatException e)
        {
            tree = null;
            error = e;
            return false;
        }
    }

    static uint U32(byte[] b, int off) => BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(off, 4));

    static DeviceTree ParseOwned(byte[] blob)
    {
        if (blob.Length < 8)
            throw new DtbFormatException(blob.Length, $"truncated header: {blob.Length} bytes, need at least {HeaderSize}");
        uint magic = U32(blob, 0);
        if (magic != Magic)
            throw new DtbFormatException(0, $"bad magic 0x{magic:x8}, expected 0x{Magic:x8}");
        if (blob.Length < HeaderSize)
            throw new DtbFormatException(blob.Length, $"truncated header: {blob.Length} bytes, need {HeaderSize}");

        uint totalSize = U32(blob, 4);
        uint offStruct = U32(blob, 8);
        uint offStrings = U32(blob, 12);
        uint offRsvmap = U32(blob, 16);
        uint version = U32(blob, 20);
        uint lastComp = U32(blob, 24);
        uint bootCpu = U32(blob, 28);
        uint sizeStrings = U32(blob, 32);
        uint sizeStruct = U32(blob, 36);

        if (version < 16)
            throw new DtbFormatException(20, $"unsupported version {version} (need 16 or later)");
        if (lastComp > 17)
            throw new DtbFormatException(24, $"last_comp_version {lastComp} is newer than 17, cannot be read");
        if (totalSize < HeaderSize)
            throw new DtbFormatException(4, $"totalsize {totalSize} smaller than the {HeaderSize}-byte header");
        if (totalSize > (uint)blob.Length)
            throw new DtbFormatException(blob.Length, $"truncated: totalsize is {totalSize} bytes but only {blob.Length} are present");

        if (version < 17)
        {
            // Version 16 has no size_dt_struct: the structure block runs to the end of the blob at most.
            if (offStruct > totalSize)
                throw new DtbFormatException(8, $"off_dt_struct 0x{offStruct:x} beyond totalsize 0x{totalSize:x}");
            sizeStruct = totalSize - offStruct;
        }
        CheckBlock(8, "structure block", offStruct, sizeStruct, totalSize);
        CheckBlock(12, "strings block", offStrings, sizeStrings, totalSize);
        if ((offStruct & 3) != 0)
            throw new DtbFormatException(8, $"off_dt_struct 0x{offStruct:x} not 4-byte aligned");
        if (offRsvmap < HeaderSize || offRsvmap > totalSize)
            throw new DtbFormatException(16, $"off_mem_rsvmap 0x{offRsvmap:x} outside the blob (header {HeaderSize}, totalsize 0x{totalSize:x})");
        if ((offRsvmap & 7) != 0)
            throw new DtbFormatException(16, $"off_mem_rsvmap 0x{offRsvmap:x} not 8-byte aligned");

        var reserve = ReadReserveMap(blob, (int)offRsvmap, (int)totalSize);
        var ctx = new StructReader(blob, (int)offStruct, (int)(offStruct + sizeStruct), (int)offStrings, (int)sizeStrings);
        var root = ctx.ReadTree();
        return new DeviceTree(root, reserve, ctx.NodeCount, version, bootCpu, ctx.Phandles, ctx.Warnings);
    }

    static void CheckBlock(int field, string what, uint off, uint size, uint total)
    {
        if (off > total || size > total - off)
            throw new DtbFormatException(field, $"{what} [0x{off:x}, +0x{size:x}) extends beyond totalsize 0x{total:x}");
    }

    static List<FdtReserveEntry> ReadReserveMap(byte[] blob, int off, int end)
    {
        var list = new List<FdtReserveEntry>();
        for (int p = off; ; p += 16)
        {
            if (p + 16 > end)
                throw new DtbFormatException(p, "memory reservation block has no terminating (0, 0) entry before the end of the blob");
            ulong addr = BinaryPrimitives.ReadUInt64BigEndian(blob.AsSpan(p, 8));
            ulong size = BinaryPrimitives.ReadUInt64BigEndian(blob.AsSpan(p + 8, 8));
            if (addr == 0 && size == 0)
                return list;
            list.Add(new FdtReserveEntry(addr, size));
        }
    }

    /// <summary>Walks the structure block token by token; each step consumes at least 4 bytes.</summary>
    sealed class StructReader(byte[] blob, int start, int end, int stringsOff, int stringsSize)
    {
        readonly Dictionary<int, string> _names = new();
        public readonly Dictionary<uint, DtNode> Phandles = new();
        public readonly List<string> Warnings = new();
        public int NodeCount;

        uint Token(int p)
        {
            if (p + 4 > end)
                throw new DtbFormatException(p, "structure block ends in the middle of the tree (truncated, no FDT_END)");
            return U32(blob, p);
        }

        public DtNode ReadTree()
        {
            int p = start;
            while (Token(p) == (uint)FdtToken.Nop) p += 4;
            if (Token(p) != (uint)FdtToken.BeginNode)
                throw new DtbFormatException(p, $"structure block starts with token 0x{Token(p):x}, expected FDT_BEGIN_NODE");
            int rootOff = p;
            string rootName = ReadName(ref p);
            if (rootName.Length != 0 && rootName != "/")
                Warnings.Add($"root node is named \"{rootName}\" instead of \"\"");
            var root = new DtNode("", null, rootOff, 0);
            NodeCount = 1;
            var cur = root;
            while (true)
            {
                int tokOff = p;
                uint tok = Token(p);
                p += 4;
                switch ((FdtToken)tok)
                {
                    case FdtToken.Nop:
                        break;
                    case FdtToken.BeginNode:
                    {
                        if (cur.Depth + 1 >= MaxDepth)
                            throw new DtbFormatException(tokOff, $"nodes nested deeper than {MaxDepth} levels");
                        p -= 4;
                        string name = ReadName(ref p);
                        if (name.Length == 0)
                            throw new DtbFormatException(tokOff + 4, $"node under {cur.Path} has an empty name");
                        var child = new DtNode(name, cur, tokOff, cur.Depth + 1);
                        cur.ChildList.Add(child);
                        NodeCount++;
                        cur = child;
                        break;
                    }
                    case FdtToken.Prop:
                        ReadProp(cur, tokOff, ref p);
                        break;
                    case FdtToken.EndNode:
                        if (cur.Parent is null)
                        {
                            // Root closed: only NOPs may come before FDT_END.
                            while (Token(p) == (uint)FdtToken.Nop) p += 4;
                            if (Token(p) != (uint)FdtToken.End)
                                throw new DtbFormatException(p, $"token 0x{Token(p):x} after the root node ended, expected FDT_END");
                            return root;
                        }
                        cur = cur.Parent;
                        break;
                    case FdtToken.End:
                        throw new DtbFormatException(tokOff, $"FDT_END inside node {cur.Path} (missing FDT_END_NODE)");
                    default:
                        throw new DtbFormatException(tokOff, $"unknown structure token 0x{tok:x8} in node {cur.Path}");
                }
            }
        }

        /// <summary>p points at FDT_BEGIN_NODE; reads the NUL-terminated name and the padding after it.</summary>
        string ReadName(ref int p)
        {
            int s = p + 4;
            int limit = end - s;
            int nul = limit <= 0 ? -1 : blob.AsSpan(s, limit).IndexOf((byte)0);
            if (nul < 0)
                throw new DtbFormatException(s, "node name runs past the end of the structure block (no NUL)");
            string name = Encoding.UTF8.GetString(blob, s, nul);
            p = Align4(s + nul + 1);
            if (p > end)
                throw new DtbFormatException(s + nul + 1, "padding after node name runs past the structure block");
            return name;
        }

        void ReadProp(DtNode node, int tokOff, ref int p)
        {
            if (p + 8 > end)
                throw new DtbFormatException(p, $"property header in {node.Path} truncated by the end of the structure block");
            uint len = U32(blob, p);
            uint nameOff = U32(blob, p + 4);
            int valOff = p + 8;
            if (len > (uint)(end - valOff))
                throw new DtbFormatException(p, $"property length {len} in {node.Path} runs past the structure block (0x{end - valOff:x} bytes left)");
            string name = PropName(nameOff, p + 4, node);
            var prop = new DtProperty(name, blob, valOff, (int)len);
            node.PropertyList.Add(prop);
            p = Align4(valOff + (int)len);
            if (p > end)
                throw new DtbFormatException(valOff + (int)len, $"padding after property {name} in {node.Path} runs past the structure block");

            // Linux (drivers/of/fdt.c, populate_properties): phandle or linux,phandle sets the node's phandle once.
            if ((name == "phandle" || name == "linux,phandle") && len >= 4)
            {
                uint ph = prop.Cell(0);
                if (ph == 0 || ph == uint.MaxValue)
                    Warnings.Add($"{node.Path}: invalid phandle 0x{ph:x}");
                else if (!Phandles.TryAdd(ph, node) && !ReferenceEquals(Phandles[ph], node))
                    Warnings.Add($"{node.Path}: phandle 0x{ph:x} already used by {Phandles[ph].Path}; the first one wins");
            }
        }

        string PropName(uint nameOff, int fieldOff, DtNode node)
        {
            if (nameOff >= (uint)stringsSize)
                throw new DtbFormatException(fieldOff, $"property name offset 0x{nameOff:x} in {node.Path} beyond the strings block (size 0x{stringsSize:x})");
            // Names repeat across nodes: decode each strings-block offset once.
            if (_names.TryGetValue((int)nameOff, out var cached))
                return cached;
            int s = stringsOff + (int)nameOff;
            int nul = blob.AsSpan(s, stringsSize - (int)nameOff).IndexOf((byte)0);
            if (nul < 0)
                throw new DtbFormatException(s, $"property name at strings offset 0x{nameOff:x} is not NUL-terminated within the strings block");
            if (nul == 0)
                throw new DtbFormatException(fieldOff, $"empty property name in {node.Path}");
            string name = Encoding.UTF8.GetString(blob, s, nul);
            _names[(int)nameOff] = name;
            return name;
        }

        static int Align4(int v) => (v + 3) & ~3;
    }
}
