using System.CommandLine;
using System.CommandLine.Parsing;

namespace DmaLab.Cli;

/// <summary>
/// The one line for a command line that does not parse: an unknown word gets the nearest command or option of the
/// command it was typed under ("did you mean"), a missing command lists the commands, and our own value errors
/// (CommonOptions) pass as they are.
/// </summary>
public static class ParseErrors
{
    public static string OneLine(ParseResult parsed)
    {
        var cmd = parsed.CommandResult.Command;
        string where = CommandPath(parsed.CommandResult);
        string help = $"(see {where} --help)";
        string? unknown = UnknownOption(parsed) ?? (parsed.UnmatchedTokens.Count > 0 ? parsed.UnmatchedTokens[0] : null);
        if (unknown is not null)
        {
            string word = unknown;
            var candidates = word.StartsWith('-')
                ? cmd.Options.Concat(Recursive(parsed.CommandResult)).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal))
                : cmd.Subcommands.Where(c => !c.Hidden).Select(c => c.Name);
            string? near = Nearest(word, candidates.Distinct());
            string what = word.StartsWith('-') ? "option" : cmd.Subcommands.Count > 0 ? "command" : "argument";
            return near is null
                ? $"unknown {what} '{word}' for {where} {help}"
                : $"unknown {what} '{word}' for {where}; did you mean {near}? {help}";
        }
        var first = parsed.Errors[0];
        if (first.Message.StartsWith("Required command", StringComparison.Ordinal))
            return $"{where} needs a command: {string.Join(", ", cmd.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))} {help}";
        if (first.SymbolResult is OptionResult or ArgumentResult && first.Message.Contains(':', StringComparison.Ordinal) && !first.Message.Contains("System.", StringComparison.Ordinal))
            return $"{first.Message} {help}"; // ours (CommonOptions): "--seed abc: expected ..."
        if (first.SymbolResult is OptionResult { Option: var o } && first.Message.Contains("required", StringComparison.OrdinalIgnoreCase))
            return $"{where} needs {o.Name} {help}";
        if (first.SymbolResult is ArgumentResult { Argument: var a })
            return $"{where}: {a.Name.ToUpperInvariant()} {(first.Message.Contains("Required", StringComparison.OrdinalIgnoreCase) ? "is missing" : "takes " + Arity(a))} {help}";
        if (first.SymbolResult is OptionResult { Option: var opt })
            return $"{where}: {opt.Name} takes {Arity(opt)} {help}";
        return $"cannot read the command line {help}";
    }

    /// <summary>A word that looks like an option ("--chek") but was taken as an argument value because no option has
    /// that name; a file named so can still be given as ./--name.</summary>
    public static string? UnknownOption(ParseResult parsed) =>
        parsed.Tokens.FirstOrDefault(t => t.Type == TokenType.Argument && t.Value.Length > 2 && t.Value.StartsWith("--", StringComparison.Ordinal))?.Value;

    static string Arity(Symbol s)
    {
        var arity = s switch { Option o => o.Arity, Argument a => a.Arity, _ => ArgumentArity.ExactlyOne };
        return arity.MaximumNumberOfValues == 0 ? "no value" : arity.MaximumNumberOfValues == 1 ? "one value" : "one or more values";
    }

    static IEnumerable<Option> Recursive(SymbolResult r)
    {
        for (var p = r.Parent; p is not null; p = p.Parent)
            if (p is CommandResult c)
                foreach (var o in c.Command.Options) if (o.Recursive) yield return o;
    }

    static string CommandPath(CommandResult r)
    {
        var names = new List<string>();
        for (SymbolResult? p = r; p is not null; p = p.Parent)
            if (p is CommandResult c) names.Add(c.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>The candidate within edit distance 2 (or a third of the word) of <paramref name="word"/>, or the one
    /// the word is a prefix of; null when none is close.</summary>
    public static string? Nearest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDist = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = c.StartsWith(word, StringComparison.Ordinal) && word.TrimStart('-').Length >= 2 ? 1 : Distance(word, c);
            if (d < bestDist) { best = c; bestDist = d; }
        }
        return bestDist <= Math.Max(2, word.Length / 3) ? best : null;
    }

    /// <summary>Optimal string alignment distance (Levenshtein plus adjacent transpositions: "versoin" is one edit).</summary>
    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
