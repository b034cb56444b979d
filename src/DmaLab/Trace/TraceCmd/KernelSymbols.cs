using System.Globalization;

namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// The traced kernel's /proc/kallsyms as trace-cmd saves it (text and weak symbols only, sorted by address): names
/// the function an instruction pointer lies in, the way tracefs prints the <c>ip</c> of a <c>print</c> event
/// (Linux: kernel/trace/trace_output.c, seq_print_ip_sym()), which is how a trace_marker write shows as
/// "tracing_mark_write: ...". Addresses the file hides (kptr_restrict prints zeros) resolve to nothing.
/// </summary>
internal sealed class KernelSymbols
{
    readonly ulong[] _addrs;
    readonly string[] _names;

    KernelSymbols(ulong[] addrs, string[] names) { _addrs = addrs; _names = names; }

    public static readonly KernelSymbols Empty = new([], []);

    public int Count => _addrs.Length;

    public static KernelSymbols Parse(ReadOnlySpan<char> text)
    {
        var list = new List<(ulong, string)>();
        foreach (var range in text.Split('\n'))
        {
            var line = text[range].Trim();
            // "ffffffff81000000 T _stext [module]"
            int a = line.IndexOf(' ');
            if (a <= 0 || a + 3 > line.Length) continue;
            if (!ulong.TryParse(line[..a], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong addr) || addr == 0) continue;
            char type = line[a + 1];
            if (type is not ('t' or 'T' or 'w' or 'W')) continue;
            var name = line[(a + 2)..].Trim();
            int sp = name.IndexOfAny(' ', '\t');
            if (sp > 0) name = name[..sp];
            if (name.IsEmpty) continue;
            list.Add((addr, name.ToString()));
        }
        list.Sort((x, y) => x.Item1.CompareTo(y.Item1));
        return new KernelSymbols(list.Select(x => x.Item1).ToArray(), list.Select(x => x.Item2).ToArray());
    }

    /// <summary>The function <paramref name="ip"/> is in (the nearest symbol at or below it), null when none.</summary>
    public string? Lookup(ulong ip)
    {
        int i = Array.BinarySearch(_addrs, ip);
        if (i < 0) i = ~i - 1;
        return i >= 0 ? _names[i] : null;
    }
}
