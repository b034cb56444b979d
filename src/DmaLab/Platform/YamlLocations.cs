using YamlDotNet.RepresentationModel;

namespace DmaLab.Platform;

/// <summary>Maps field paths ("devices[2].iommu") to the line and column of their key, so validation errors can point
/// at it.</summary>
internal sealed class YamlLocations
{
    readonly Dictionary<string, (long Line, long Column)> _lines = new(StringComparer.OrdinalIgnoreCase);

    public static YamlLocations Index(YamlStream doc)
    {
        var loc = new YamlLocations();
        if (doc.Documents.Count > 0) loc.Walk(doc.Documents[0].RootNode, "");
        return loc;
    }

    void Walk(YamlNode node, string path)
    {
        _lines[path] = (node.Start.Line, node.Start.Column);
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    string key = (k as YamlScalarNode)?.Value ?? "";
                    string child = path.Length == 0 ? key : $"{path}.{key}";
                    Walk(v, child);
                    _lines[child] = (k.Start.Line, k.Start.Column);
                }
                break;
            case YamlSequenceNode seq:
                for (int i = 0; i < seq.Children.Count; i++) Walk(seq.Children[i], $"{path}[{i}]");
                break;
        }
    }

    /// <summary>"line:column" of the path, or of its nearest ancestor that exists in the file.</summary>
    public string PlaceOf(string path)
    {
        for (string p = path; ; )
        {
            if (_lines.TryGetValue(p, out var at)) return $"{at.Line}:{at.Column}";
            int cut = Math.Max(p.LastIndexOf('.'), p.LastIndexOf('['));
            if (cut <= 0) return _lines.TryGetValue("", out var root) ? $"{root.Line}:{root.Column}" : "1:1";
            p = p[..cut];
        }
    }
}
