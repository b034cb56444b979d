using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace DmaLab.Platform;

/// <summary>
/// Loads and saves <see cref="PlatformSpec"/> YAML, and finds built-in platforms. Every error is a
/// <see cref="PlatformSpecException"/> naming the file, the line and the field.
/// </summary>
public static class PlatformLoader
{
    const string ResourcePrefix = "DmaLab.Platform.BuiltIn.";
    public const string DefaultPlatform = "arm64-ref";

    static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .WithTypeConverter(new SizeYamlConverter())
        .Build();

    static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .WithTypeConverter(new SizeYamlConverter())
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull | DefaultValuesHandling.OmitEmptyCollections)
        .Build();

    /// <summary>Names of the platforms embedded in the assembly, sorted.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = typeof(PlatformLoader).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal))
        .Select(n => n[ResourcePrefix.Length..^".yaml".Length])
        .Order(StringComparer.Ordinal)
        .ToArray();

    public static PlatformSpec LoadBuiltIn(string name)
    {
        using var s = typeof(PlatformLoader).Assembly.GetManifestResourceStream(ResourcePrefix + name + ".yaml")
            ?? throw new PlatformSpecException($"no built-in platform '{name}' (built-in: {string.Join(", ", BuiltInNames)})");
        using var reader = new StreamReader(s);
        return Load(reader, $"built-in:{name}");
    }

    /// <summary>Parses and validates a platform from YAML text: its size, depth and aliases bounded
    /// (<see cref="YamlLimits"/>), its keys and values checked against the spec (<see cref="PlatformYamlSchema"/>),
    /// then every field against what boot needs (<see cref="PlatformValidator"/>).</summary>
    public static PlatformSpec Load(TextReader reader, string source)
    {
        var sb = new System.Text.StringBuilder();
        var buf = new char[16384];
        for (int n; (n = reader.Read(buf, 0, buf.Length)) > 0;)
        {
            sb.Append(buf, 0, n);
            if (sb.Length > YamlLimits.MaxChars) throw new PlatformSpecException($"{source}: larger than {YamlLimits.MaxChars >> 20} MiB; not a platform file");
        }
        string text = sb.ToString();
        PlatformSpec spec;
        YamlStream doc = new();
        try
        {
            YamlLimits.Check(text, source);
            doc.Load(new StringReader(text));
            if (doc.Documents.Count == 0) throw new PlatformSpecException($"{source}: empty platform file");
            PlatformYamlSchema.Check(doc.Documents[0].RootNode, source);
            spec = Deserializer.Deserialize<PlatformSpec>(text) ?? throw new PlatformSpecException($"{source}: empty platform file");
        }
        catch (YamlException e)
        {
            throw new PlatformSpecException($"{source}:{e.Start.Line}:{e.Start.Column}: {Innermost(e)}");
        }
        spec.Source = source;
        var locations = YamlLocations.Index(doc);
        PlatformValidator.Validate(spec, (path, message) =>
            throw new PlatformSpecException($"{source}:{locations.PlaceOf(path)}: {path}: {message}"));
        return spec;
    }

    public static string Save(PlatformSpec spec) => Serializer.Serialize(spec);

    static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        string m = e.Message;
        // YamlDotNet prefixes "(Line: a, Col: b, Idx: c) - (Line..): "; the location is already printed.
        int dash = m.LastIndexOf("): ", StringComparison.Ordinal);
        m = dash >= 0 && m.StartsWith("(Line", StringComparison.Ordinal) ? m[(dash + 3)..] : m;
        return m.StartsWith("Duplicate key ", StringComparison.Ordinal) ? $"duplicate key '{m["Duplicate key ".Length..]}'" : m;
    }
}
