using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace DmaLab.Cli;

/// <summary>Options shared by every command. Numbers are parsed here so that a bad value is reported in our words
/// (the option, the value, what was expected), never as a .NET type name.</summary>
public static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Print machine-readable JSON on stdout instead of tables" };

    public static Option<ulong> Seed() => UInt64("--seed", "Seed for every random choice in the model (same seed, same output)", 1);

    public static Option<string> Platform() => new("--platform", "-p")
    {
        Description = "Built-in platform name, a platform YAML file, or a device-tree blob (.dtb)",
        DefaultValueFactory = _ => DmaLab.Platform.PlatformLoader.DefaultPlatform,
    };

    public static Option<string> Out() => new("--out", "-o") { Description = "Directory for report.json and report.html", DefaultValueFactory = _ => "dmalab-out" };

    /// <summary>--width N: the terminal width tables are fitted to (default: COLUMNS, else the terminal's, else 80).</summary>
    public static Option<int?> Width() => new("--width")
    {
        Description = "Fit tables to N columns (default: $COLUMNS, else the terminal width, else 80)",
        Recursive = true,
        CustomParser = r => ParseInt(r, 20, 10_000),
    };

    public static Option<ulong> UInt64(string name, string description, ulong defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            string v = Token(r);
            if (ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out ulong x)) return x;
            if (v.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && ulong.TryParse(v.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out x)) return x;
            r.AddError($"{OptionName(r)} {v}: expected a whole number from 0 to {ulong.MaxValue} (or 0x... hex)");
            return 0;
        },
    };

    public static Option<int> Int(string name, string alias, string description, int defaultValue, int min, int max)
    {
        var o = alias.Length > 0 ? new Option<int>(name, alias) : new Option<int>(name);
        o.Description = description;
        o.DefaultValueFactory = _ => defaultValue;
        o.CustomParser = r => ParseInt(r, min, max) ?? 0;
        return o;
    }

    /// <summary>Seconds of trace time as a non-negative decimal (--from/--to).</summary>
    public static Option<double?> Seconds(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = r =>
        {
            string v = Token(r);
            if (double.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double s) && double.IsFinite(s)) return s;
            r.AddError($"{OptionName(r)} {v}: expected seconds of trace time, like 12.5");
            return null;
        },
    };

    /// <summary>Restricts a string option to <paramref name="values"/>, with our one-line message.</summary>
    public static void OneOf(Option<string> option, params string[] values) => option.Validators.Add(r =>
    {
        if (r.Tokens.Count == 0) return; // the default
        string v = r.Tokens[^1].Value;
        if (!values.Contains(v))
            r.AddError($"{option.Name} {v}: expected one of {string.Join(", ", values)}" +
                (ParseErrors.Nearest(v, values) is string n ? $"; did you mean {n}?" : ""));
    });

    static int? ParseInt(ArgumentResult r, int min, int max)
    {
        string v = Token(r);
        if (int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int x) && x >= min && x <= max) return x;
        r.AddError($"{OptionName(r)} {v}: expected a whole number from {min} to {max}");
        return null;
    }

    static string Token(ArgumentResult r) => r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";

    static string OptionName(ArgumentResult r) => (r.Parent as OptionResult)?.Option.Name ?? "value";
}
