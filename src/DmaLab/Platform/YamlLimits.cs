using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace DmaLab.Platform;

/// <summary>
/// Bounds a YAML text before anything builds a tree of it: one pass over the parser's events (the parser keeps
/// its own state on the heap, so it does not recurse) refuses nesting deeper than <see cref="MaxDepth"/> (the tree
/// builders recurse once per level), aliases that would expand to more than <see cref="MaxExpandedNodes"/> nodes
/// (alias amplification, "billion laughs"), an alias of a node that contains it, and more than one document. A
/// platform needs 5 levels and a few hundred nodes; the limits leave room for hand-written files.
/// </summary>
internal static class YamlLimits
{
    public const int MaxDepth = 64;
    public const long MaxExpandedNodes = 100_000;
    /// <summary>Longest platform file read (a DTB import of a large SoC saves to a few tens of KiB).</summary>
    public const int MaxChars = 16 << 20;

    /// <summary>Throws <see cref="PlatformSpecException"/> naming <paramref name="source"/>, line and column.</summary>
    public static void Check(string text, string source)
    {
        var parser = new Parser(new StringReader(text));
        var open = new Stack<(string? Anchor, long Nodes)>();
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        int documents = 0;
        var last = Mark.Empty;
        while (Next(parser, source, last))
        {
            var e = parser.Current!;
            last = e.End;
            long nodes, added; // nodes: the expanded size of the node that ended; added: new to the document's total
            switch (e)
            {
                case DocumentStart ds when !ds.IsImplicit || documents > 0:
                    if (++documents > 1) Fail(source, e.Start, "more than one YAML document; a platform file holds one");
                    continue;
                case DocumentStart:
                    documents++;
                    continue;
                case MappingStart or SequenceStart:
                    if (open.Count >= MaxDepth) Fail(source, e.Start, $"nested deeper than {MaxDepth} levels");
                    open.Push((((NodeEvent)e).Anchor.IsEmpty ? null : ((NodeEvent)e).Anchor.Value, 0));
                    continue;
                case MappingEnd or SequenceEnd:
                    var (anchor, inner) = open.Pop();
                    nodes = inner + 1;
                    added = 1;
                    if (anchor is not null) sizes[anchor] = nodes;
                    break;
                case AnchorAlias alias:
                    string name = alias.Value.Value;
                    if (open.Any(f => f.Anchor == name)) Fail(source, e.Start, $"alias *{name} refers to a node that contains it");
                    nodes = added = sizes.GetValueOrDefault(name, 1);
                    break;
                case Scalar s:
                    nodes = added = 1;
                    if (!s.Anchor.IsEmpty) sizes[s.Anchor.Value] = 1;
                    break;
                default:
                    continue;
            }
            total += added;
            if (total > MaxExpandedNodes)
                Fail(source, e.Start, $"the document expands to more than {MaxExpandedNodes:N0} nodes (aliases repeat what they name)");
            if (open.Count > 0) { var top = open.Pop(); open.Push((top.Anchor, top.Nodes + nodes)); }
        }
    }

    /// <summary>The parser's next event; a syntax error is a <see cref="YamlException"/> with its place (the loader
    /// words it), and the scanner's own failures on some malformed flow collections (InvalidOperationException) are
    /// reported after the last event that parsed.</summary>
    static bool Next(Parser parser, string source, Mark last)
    {
        try { return parser.MoveNext(); }
        catch (InvalidOperationException) { Fail(source, last, "not valid YAML after this point"); return false; }
    }

    static void Fail(string source, Mark at, string message) =>
        throw new PlatformSpecException($"{source}:{at.Line}:{at.Column}: {message}");
}
