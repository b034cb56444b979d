using System.Globalization;

namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// An event's tracefs <c>format</c> description, as trace-cmd stores it in a .dat file (Linux:
/// kernel/trace/trace_events.c, f_show(); the same text as /sys/kernel/tracing/events/SYSTEM/EVENT/format): name,
/// numeric id (the <c>common_type</c> of its records), the fields with their offsets, sizes and signedness, and the
/// print format. Records are decoded by these descriptions, never by assumed layouts.
/// </summary>
public sealed class TraceEventFormat
{
    public required string System { get; init; }
    public required string Name { get; init; }
    public required int Id { get; init; }
    /// <summary>Every field in declaration order, the common_* header fields first.</summary>
    public required IReadOnlyList<TraceEventField> Fields { get; init; }
    public string PrintFormat { get; init; } = "";

    public TraceEventField? Field(string name)
    {
        foreach (var f in Fields) if (f.Name == name) return f;
        return null;
    }

    /// <summary>
    /// Parses one format text. <paramref name="longSize"/> is the traced kernel's long size (from the header page's
    /// commit field), used for element sizes of dynamic arrays of long-sized types. Throws <see cref="FormatException"/>
    /// with what was expected; the caller adds file and offset.
    /// </summary>
    public static TraceEventFormat Parse(string system, string text, int longSize)
    {
        string? name = null;
        int id = -1;
        var fields = new List<TraceEventField>();
        string print = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var t = line.Trim();
            if (t.StartsWith("name:", StringComparison.Ordinal)) name = t[5..].Trim();
            else if (t.StartsWith("ID:", StringComparison.Ordinal))
            {
                if (!int.TryParse(t[3..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out id) || id < 0 || id > ushort.MaxValue)
                    throw new FormatException($"bad event ID line '{Cut(t)}'");
            }
            else if (t.StartsWith("field:", StringComparison.Ordinal)) fields.Add(ParseField(t, longSize));
            else if (t.StartsWith("print fmt:", StringComparison.Ordinal)) print = t[10..].Trim();
        }
        if (name is null || name.Length == 0) throw new FormatException("expected a 'name:' line in an event format");
        if (id < 0) throw new FormatException($"expected an 'ID:' line in the format of {name}");
        return new TraceEventFormat { System = system, Name = name, Id = id, Fields = fields, PrintFormat = print };
    }

    /// <summary>Parses the header_page description (same field syntax, no name or ID).</summary>
    public static IReadOnlyList<TraceEventField> ParseFields(string text, int longSize)
    {
        var fields = new List<TraceEventField>();
        foreach (var raw in text.Split('\n'))
        {
            var t = raw.Trim();
            if (t.StartsWith("field:", StringComparison.Ordinal)) fields.Add(ParseField(t, longSize));
        }
        return fields;
    }

    static TraceEventField ParseField(string t, int longSize)
    {
        // field:TYPE NAME;	offset:N;	size:N;	signed:N;
        string decl = "";
        int offset = -1, size = -1, signd = 0;
        foreach (var part in t.Split(';'))
        {
            var p = part.Trim();
            if (p.StartsWith("field:", StringComparison.Ordinal)) decl = p[6..].Trim();
            else if (p.StartsWith("offset:", StringComparison.Ordinal)) offset = Int(p[7..], t);
            else if (p.StartsWith("size:", StringComparison.Ordinal)) size = Int(p[5..], t);
            else if (p.StartsWith("signed:", StringComparison.Ordinal)) signd = Int(p[7..], t);
        }
        if (decl.Length == 0 || offset < 0 || size < 0) throw new FormatException($"expected 'field:TYPE NAME; offset:N; size:N;' in '{Cut(t)}'");
        if (offset > 0xFFFF || size > 0xFFFF) throw new FormatException($"field offset or size out of range in '{Cut(t)}'");

        bool dataLoc = decl.StartsWith("__data_loc ", StringComparison.Ordinal);
        bool relLoc = decl.StartsWith("__rel_loc ", StringComparison.Ordinal);
        if (dataLoc) decl = decl[11..].Trim();
        if (relLoc) decl = decl[10..].Trim();
        int arrayCount = -1;
        int br = decl.IndexOf('[');
        string typeAndName = decl;
        if (br >= 0)
        {
            int close = decl.IndexOf(']', br);
            if (close < 0) throw new FormatException($"unbalanced '[' in '{Cut(t)}'");
            var inner = decl[(br + 1)..close].Trim();
            arrayCount = inner.Length == 0 ? 0 : int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0;
            typeAndName = (decl[..br] + decl[(close + 1)..]).Trim();
        }
        int sp = typeAndName.LastIndexOfAny([' ', '*']);
        if (sp < 0) throw new FormatException($"expected 'TYPE NAME' in '{Cut(t)}'");
        string name = typeAndName[(sp + 1)..].Trim();
        string type = typeAndName[..(sp + 1)].Trim();
        // In the "__data_loc char[] device" form the brackets follow the type, not the name.
        if (name.Length == 0) throw new FormatException($"expected a field name in '{Cut(t)}'");
        bool pointer = type.EndsWith('*');
        int elem = pointer ? longSize : ElementSizeOf(type, longSize);
        bool fixedArray = !dataLoc && !relLoc && arrayCount >= 0;
        if (fixedArray && arrayCount > 0 && size % arrayCount == 0) elem = size / arrayCount;
        if (!fixedArray && !dataLoc && !relLoc) elem = size;
        if (elem <= 0) elem = 1;
        bool isString = (dataLoc || relLoc || fixedArray) && type is "char" or "const char" or "signed char";
        return new TraceEventField
        {
            Name = name, Type = (dataLoc ? "__data_loc " : relLoc ? "__rel_loc " : "") + type + (arrayCount >= 0 ? "[]" : ""),
            Offset = offset, Size = size, Signed = signd != 0,
            DataLoc = dataLoc || relLoc, RelLoc = relLoc, FixedArray = fixedArray, IsString = isString, ElementSize = elem,
        };
    }

    /// <summary>Bytes of one element of a C type as the kernel's tracepoints declare them; 0 when unknown.</summary>
    static int ElementSizeOf(string type, int longSize)
    {
        var t = type.Replace("const ", "", StringComparison.Ordinal).Replace("volatile ", "", StringComparison.Ordinal).Trim();
        return t switch
        {
            "char" or "unsigned char" or "signed char" or "u8" or "s8" or "__u8" or "__s8" or "bool" or "_Bool" => 1,
            "short" or "unsigned short" or "u16" or "s16" or "__u16" or "__s16" or "__le16" or "__be16" => 2,
            "int" or "unsigned int" or "unsigned" or "u32" or "s32" or "__u32" or "__s32" or "__le32" or "__be32" or "gfp_t" or "pid_t" => 4,
            "long long" or "unsigned long long" or "u64" or "s64" or "__u64" or "__s64" or "__le64" or "__be64" => 8,
            "long" or "unsigned long" or "size_t" or "ssize_t" => longSize,
            "dma_addr_t" or "phys_addr_t" or "resource_size_t" => 8,
            _ when t.StartsWith("enum ", StringComparison.Ordinal) => 4,
            _ => 0,
        };
    }

    static int Int(string s, string line) =>
        int.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v
            : throw new FormatException($"expected a number in '{Cut(line)}'");

    static string Cut(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
